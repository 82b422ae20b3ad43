// Every element the console makes is built here. Text goes in as text nodes, never as HTML:
// a sandbox's output, file names and events are a guest's words, and a guest is hostile.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function toast(message: string, kind: "ok" | "error" = "ok"): void {
  const box = document.getElementById("toasts");
  if (!box) return;
  const t = h("div", { class: "toast " + kind, role: kind === "error" ? "alert" : "status" }, message);
  box.appendChild(t);
  setTimeout(() => t.remove(), kind === "error" ? 8000 : 3000);
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(v) : v.toFixed(1)) + " " + units[i];
}

export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "–";
  return span((now - Date.parse(iso)) / 1000);
}

export function left(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "no limit";
  const s = (Date.parse(iso) - now) / 1000;
  return s <= 0 ? "due" : span(s);
}

function span(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
}

/** A button that runs an action once at a time and shows its failure. */
export function button(label: string, action: () => Promise<unknown>, attrs: Attrs = {}): HTMLButtonElement {
  const b = h("button", { type: "button", ...attrs }, label);
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await action();
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), "error");
    } finally {
      b.disabled = false;
    }
  });
  return b;
}
