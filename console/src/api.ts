// The console's only way to the daemon: its API, with the key the user signed in with. The key
// lives in this tab's session storage (gone when the tab closes) and travels in a header, never
// in a URL; a WebSocket, which cannot set headers, offers it as a subprotocol.

const KEY = "kiln.key";

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function key(): string | null {
  return sessionStorage.getItem(KEY);
}

export function signIn(k: string): void {
  sessionStorage.setItem(KEY, k);
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

let onUnauthorized: () => void = () => {};

export function whenUnauthorized(f: () => void): void {
  onUnauthorized = f;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const k = key();
  return k ? { Authorization: "Bearer " + k, ...extra } : extra;
}

async function failure(r: Response): Promise<ApiError> {
  let code = "HTTP_" + r.status;
  let message = r.status + " " + r.statusText;
  try {
    const body = await r.json();
    if (body && body.error) {
      code = String(body.error.code);
      message = String(body.error.message);
    }
  } catch {
    // not JSON: the status says enough
  }
  if (r.status === 401) onUnauthorized();
  return new ApiError(r.status, code, message);
}

export async function call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const r = await fetch(path, init);
  if (!r.ok) throw await failure(r);
  if (r.status === 204) return undefined as T;
  const type = r.headers.get("Content-Type") ?? "";
  return (type.includes("json") ? await r.json() : await r.text()) as T;
}

export const get = <T = any>(path: string) => call<T>("GET", path);
export const post = <T = any>(path: string, body: unknown = {}) => call<T>("POST", path, body);
export const del = (path: string) => call<void>("DELETE", path);

/** The raw response of a GET, for bodies read as they come (logs) or as bytes (downloads). */
export async function open(path: string, signal?: AbortSignal): Promise<Response> {
  const r = await fetch(path, { headers: headers(), signal });
  if (!r.ok) throw await failure(r);
  return r;
}

/** Calls {@code onLine} with each line of a streamed text body until it ends or {@code signal} aborts. */
export async function followLines(path: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
  const r = await open(path, signal);
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const parts = (rest + value).split("\n");
    rest = parts.pop() ?? "";
    parts.forEach(onLine);
  }
  if (rest) onLine(rest);
}

/** A server-sent event stream read with fetch (EventSource cannot send the key's header). */
export async function events(path: string, onEvent: (name: string, data: any) => void, signal: AbortSignal): Promise<void> {
  let name = "message";
  let data = "";
  await followLines(path, (line) => {
    if (line === "") {
      if (data) onEvent(name, JSON.parse(data));
      name = "message";
      data = "";
    } else if (line.startsWith("event: ")) name = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }, signal);
}

/** A PUT of a file with upload progress (fetch reports none). */
export function upload(path: string, file: Blob, onProgress: (sent: number, total: number) => void): Promise<any> {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("PUT", path);
    const k = key();
    if (k) x.setRequestHeader("Authorization", "Bearer " + k);
    x.setRequestHeader("Content-Type", "application/octet-stream");
    x.upload.onprogress = (e) => onProgress(e.loaded, e.total);
    x.onload = () => {
      if (x.status >= 200 && x.status < 300) {
        resolve(x.responseText ? JSON.parse(x.responseText) : undefined);
        return;
      }
      let code = "HTTP_" + x.status;
      let message = "upload failed: " + x.status;
      try {
        const e = JSON.parse(x.responseText).error;
        code = e.code;
        message = e.message;
      } catch {
        // not our error body
      }
      reject(new ApiError(x.status, code, message));
    };
    x.onerror = () => reject(new ApiError(0, "NETWORK", "the upload's connection failed"));
    x.send(file);
  });
}

export function socket(path: string): WebSocket {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  const ws = new WebSocket(url, ["kiln", "kiln.key." + (key() ?? "")]);
  ws.binaryType = "arraybuffer";
  return ws;
}

export const enc = encodeURIComponent;
