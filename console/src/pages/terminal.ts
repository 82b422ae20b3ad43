import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import * as api from "../api";
import { Sandbox } from "../sandboxes";
import { attach } from "../process";
import { button, h } from "../dom";

/**
 * A login shell on a pseudo-terminal, drawn by xterm.js. Its pid is kept in the tab's session
 * storage: a reload attaches to the same shell and replays what it kept, instead of a new one.
 */
export async function terminalTab(panel: HTMLElement, s: Sandbox, signal: AbortSignal): Promise<void> {
  if (s.status !== "running" && s.status !== "paused") {
    panel.appendChild(h("p", { class: "muted" }, "The sandbox is " + s.status + ": a terminal needs it running."));
    return;
  }
  const box = h("div", { class: "terminal", id: "terminal" });
  const status = h("p", { class: "muted", id: "terminal-status" });
  panel.append(box, status);
  const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000, fontFamily: "monospace" });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  signal.addEventListener("abort", () => term.dispose());

  const storeKey = "kiln.tty." + s.id;
  const base = "/v1/sandboxes/" + api.enc(s.id) + "/processes";
  let pid = Number(sessionStorage.getItem(storeKey));
  if (pid) {
    const p = await api.get(base + "/" + pid).catch(() => null);
    if (!p || p.status !== "running") pid = 0;
  }
  if (!pid) {
    const p = await api.post(base, { login: true, pty: { rows: term.rows, cols: term.cols } });
    pid = p.pid;
    sessionStorage.setItem(storeKey, String(pid));
  }
  status.textContent = "shell pid " + pid;
  const decoder = new TextDecoder();
  const conn = attach((cursor) => api.socket(base + "/" + pid + "/ws?cursor=" + cursor), 0, {
    onOutput: (data) => term.write(decoder.decode(data, { stream: true })),
    onExit: (e) => {
      sessionStorage.removeItem(storeKey);
      term.write("\r\n[the shell exited" + (e.exitCode !== undefined && e.exitCode !== null ? " with " + e.exitCode : "") + "]\r\n");
      status.replaceChildren("shell ended ", button("New shell", async () => window.dispatchEvent(new HashChangeEvent("hashchange"))));
    },
    onDrop: (reason) => status.replaceChildren("disconnected: " + reason + " ", button("Reconnect", async () => window.dispatchEvent(new HashChangeEvent("hashchange")))),
  }, signal);
  term.onData((d) => conn.send(d));
  term.onResize(({ rows, cols }) => conn.resize(rows, cols));
  conn.resize(term.rows, term.cols);
  const observer = new ResizeObserver(() => fit.fit());
  observer.observe(box);
  signal.addEventListener("abort", () => observer.disconnect());
  term.focus();
}
