// The process WebSocket's frames (docs/api.md, ProcessSocket): the first byte says what follows.

export const STDIN = 0, STDOUT = 1, STDERR = 2, EXIT = 3, REPLAYED = 4, OVERFLOW = 5, STDIN_CLOSE = 6, RESIZE = 7;
/** Close code: the sandbox moved to another node; attach again with the cursor. */
export const MOVED = 1012;

export interface Attachment {
  /** Output bytes as they come (stdout or stderr). */
  onOutput(data: Uint8Array, stderr: boolean): void;
  /** The process ended; code is its exit code, or null when a signal ended it. */
  onExit(exit: { exitCode?: number | null; signal?: string | null; [k: string]: unknown }): void;
  /** The socket closed without an exit (the daemon went away, or the tab's network). */
  onDrop(reason: string): void;
}

/**
 * Attaches to a process from {@code cursor} (0 replays all the output it kept), re-attaching
 * where it left off when the sandbox moves. Returns what sends to it.
 */
export function attach(open: (cursor: number) => WebSocket, cursor: number, a: Attachment, signal: AbortSignal) {
  let ws: WebSocket;
  let ended = false;
  let pending: Uint8Array[] = [];
  const connect = () => {
    ws = open(cursor);
    ws.onopen = () => {
      pending.forEach((f) => ws.send(f));
      pending = [];
    };
    ws.onmessage = (m) => {
      const data = new Uint8Array(m.data as ArrayBuffer);
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      switch (data[0]) {
        case STDOUT:
        case STDERR:
          cursor += data.length - 1;
          a.onOutput(data.subarray(1), data[0] === STDERR);
          break;
        case REPLAYED:
          cursor = Number(view.getBigUint64(1));
          break;
        case OVERFLOW:
          cursor = Number(view.getBigUint64(9));
          break;
        case EXIT:
          ended = true;
          a.onExit(JSON.parse(new TextDecoder().decode(data.subarray(1))));
          break;
      }
    };
    ws.onclose = (e) => {
      if (ended || signal.aborted) return;
      if (e.code === MOVED) connect();
      else a.onDrop(e.reason || "connection closed (" + e.code + ")");
    };
  };
  connect();
  signal.addEventListener("abort", () => ws.close());
  const frame = (type: number, body: Uint8Array = new Uint8Array()) => {
    const f = new Uint8Array(body.length + 1);
    f[0] = type;
    f.set(body, 1);
    if (ws.readyState === WebSocket.OPEN) ws.send(f);
    else if (ws.readyState === WebSocket.CONNECTING) pending.push(f);
  };
  return {
    send: (text: string) => frame(STDIN, new TextEncoder().encode(text)),
    closeStdin: () => frame(STDIN_CLOSE),
    resize: (rows: number, cols: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint16(0, rows);
      new DataView(b.buffer).setUint16(2, cols);
      frame(RESIZE, b);
    },
  };
}
