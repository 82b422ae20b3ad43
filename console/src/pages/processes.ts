import * as api from "../api";
import { Sandbox } from "../sandboxes";
import { attach } from "../process";
import { clear, h } from "../dom";

interface Proc {
  pid: number;
  argv?: string[];
  command?: string;
  status: string;
  exitCode?: number | null;
  startedAt?: string;
}

/** The sandbox's background processes; one's output is replayed from the start, then followed. */
export async function processesTab(panel: HTMLElement, s: Sandbox, signal: AbortSignal): Promise<void> {
  const base = "/v1/sandboxes/" + api.enc(s.id) + "/processes";
  const list: Proc[] = (await api.get(base)).processes;
  const output = h("pre", { class: "output", id: "process-output" });
  const title = h("h2", {}, "Output");
  let follow: AbortController | null = null;
  const show = (p: Proc) => {
    follow?.abort();
    follow = new AbortController();
    signal.addEventListener("abort", () => follow?.abort());
    clear(output);
    title.textContent = "Output of " + p.pid;
    const decoder = new TextDecoder();
    // Text nodes only: a guest's output is shown, never interpreted.
    attach((cursor) => api.socket(base + "/" + p.pid + "/ws?cursor=" + cursor), 0, {
      onOutput: (data, stderr) => output.appendChild(stderr ? h("span", { class: "stderr" }, decoder.decode(data, { stream: true })) : document.createTextNode(decoder.decode(data, { stream: true }))),
      onExit: (e) => output.appendChild(h("span", { class: "muted" }, "\n[exited: " + JSON.stringify(e) + "]\n")),
      onDrop: (reason) => output.appendChild(h("span", { class: "muted" }, "\n[" + reason + "]\n")),
    }, follow.signal);
  };
  panel.append(
    list.length
      ? h("table", { class: "list" }, h("thead", {}, h("tr", {}, ...["pid", "command", "status", ""].map((c) => h("th", {}, c)))),
          h("tbody", {}, ...list.map((p) => h("tr", { "data-pid": p.pid }, h("td", {}, p.pid), h("td", {}, h("code", {}, p.command ?? (p.argv ?? []).join(" "))),
            h("td", {}, p.status + (p.exitCode !== undefined && p.exitCode !== null ? " (" + p.exitCode + ")" : "")),
            h("td", {}, h("button", { type: "button", onclick: () => show(p) }, "Output"))))))
      : h("p", { class: "muted" }, "No background processes."),
    title, output);
}
