import * as api from "../api";
import { Sandbox, Usage, actionButtons } from "../sandboxes";
import { age, append, button, clear, h, left, toast } from "../dom";
import { terminalTab } from "./terminal";
import { processesTab } from "./processes";
import { filesTab } from "./files";
import { metricsTab, UsagePoint } from "./metrics";

type Tab = (panel: HTMLElement, s: Sandbox, signal: AbortSignal, live: Live) => void | Promise<void>;

/** What the page's one watch stream tells the tab that is open. */
export interface Live {
  onEvent(f: (e: SandboxEvent) => void): void;
  onUsage(f: (u: UsagePoint) => void): void;
}

export interface SandboxEvent {
  at: string;
  kind: string;
  message: string;
}

const TABS: [string, string, Tab][] = [
  ["terminal", "Terminal", terminalTab],
  ["processes", "Processes", processesTab],
  ["files", "Files", filesTab],
  ["events", "Events", eventsTab],
  ["network", "Network", networkTab],
  ["metrics", "Metrics", metricsTab],
];

export async function sandboxPage(main: HTMLElement, [id, tabName]: string[], signal: AbortSignal): Promise<void> {
  const base = "#/sandboxes/" + api.enc(id);
  let s: Sandbox = await api.get("/v1/sandboxes/" + api.enc(id));
  const header = h("div", { class: "sandbox-head" });
  const tab = TABS.find((t) => t[0] === tabName) ?? TABS[0];
  const panel = h("section", { class: "panel", id: "tab-" + tab[0] });
  const eventListeners: ((e: SandboxEvent) => void)[] = [];
  const usageListeners: ((u: UsagePoint) => void)[] = [];
  const live: Live = { onEvent: (f) => eventListeners.push(f), onUsage: (f) => usageListeners.push(f) };

  const facts = () => s.template + " · " + s.vcpus + " vCPU · " + s.memoryMib + " MiB · up " + age(s.createdAt) + " · TTL " + left(s.expiresAt)
    + (s.node ? " · node " + s.node : "");
  // The age and TTL count on; the buttons are drawn again only when the sandbox changes (a click is not lost).
  const ticker = setInterval(() => document.getElementById("sandbox-facts")?.replaceChildren(facts()), 1000);
  signal.addEventListener("abort", () => clearInterval(ticker));
  const drawHeader = () => {
    clear(header);
    append(header,
      h("h1", {}, "Sandbox ", h("code", {}, s.id), " ", h("span", { id: "sandbox-state", class: "state " + s.status }, s.status)),
      h("p", { class: "muted", id: "sandbox-facts" }, facts()),
      s.error ? h("p", { class: "error" }, s.error) : null,
      h("div", { class: "actions" }, ...actionButtons(s, (label) => { if (label === "Delete") location.hash = "#/sandboxes"; }),
        ...(s.status === "running" ? [checkpointButton(s), forkButton(s)] : []), restoreButton(s)));
  };
  drawHeader();
  main.append(header,
    h("nav", { class: "tabs" }, ...TABS.map(([name, label]) => h("a", { href: base + "/" + name, class: name === tab[0] ? "active" : null, "data-tab": name }, label))),
    panel);

  void (async () => {
    while (!signal.aborted) {
      try {
        await api.events("/v1/sandboxes?watch=true&id=" + api.enc(id), (name, d) => {
          if (name === "changed" || (name === "sandboxes" && d.sandboxes.length)) {
            s = name === "changed" ? d : d.sandboxes[0];
            drawHeader();
          } else if (name === "removed") {
            s = { ...s, status: "deleted" };
            drawHeader();
          } else if (name === "event") {
            eventListeners.forEach((f) => f(d));
          } else if (name === "usage" && d.usage[id]) {
            const u: Usage = d.usage[id];
            usageListeners.forEach((f) => f({ at: Date.now(), ...u }));
          }
        }, signal);
      } catch {
        // the stream broke (a restart, a network fault): connect again below
      }
      if (!signal.aborted) await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  await tab[2](panel, s, signal, live);
}

function checkpointButton(s: Sandbox): HTMLButtonElement {
  return button("Checkpoint", async () => {
    const name = prompt("Name of the checkpoint (letters, digits, - and _):", "cp-" + new Date().toISOString().slice(11, 19).replaceAll(":", ""));
    if (!name) return;
    await api.post("/v1/sandboxes/" + api.enc(s.id) + "/checkpoints", { name });
    toast("checkpoint " + name + " taken");
  }, { "data-action": "checkpoint" });
}

function forkButton(s: Sandbox): HTMLButtonElement {
  return button("Fork", async () => {
    const count = Number(prompt("How many forks?", "1"));
    if (!count) return;
    const r = await api.post("/v1/sandboxes/" + api.enc(s.id) + "/fork", { count });
    toast("forked: " + r.sandboxes.map((f: Sandbox) => f.id).join(", "));
  }, { "data-action": "fork" });
}

function restoreButton(s: Sandbox): HTMLButtonElement {
  return button("Restore…", async () => {
    const list: { name: string; createdAt: string }[] = (await api.get("/v1/sandboxes/" + api.enc(s.id) + "/checkpoints")).checkpoints;
    if (!list.length) {
      toast("this sandbox has no checkpoints", "error");
      return;
    }
    const name = prompt("Restore which checkpoint? The sandbox's memory and disk go back to it.\n" + list.map((c) => c.name + "  (" + c.createdAt + ")").join("\n"),
      list[list.length - 1].name);
    if (!name || !confirm("Restore " + s.id + " to " + name + "? What happened since is lost.")) return;
    await api.post("/v1/sandboxes/" + api.enc(s.id) + "/checkpoints/" + api.enc(name) + "/restore");
    toast("restored to " + name);
  }, { "data-action": "restore" });
}

async function eventsTab(panel: HTMLElement, s: Sandbox, _signal: AbortSignal, live: Live): Promise<void> {
  const list = h("ol", { class: "events", id: "events" });
  const add = (e: SandboxEvent) => list.appendChild(h("li", {}, h("time", {}, new Date(e.at).toLocaleString()), " ", h("b", {}, e.kind), " ", e.message));
  (await api.get("/v1/sandboxes/" + api.enc(s.id) + "/events")).events.forEach(add);
  live.onEvent(add);
  panel.appendChild(list);
}

async function networkTab(panel: HTMLElement, s: Sandbox): Promise<void> {
  const path = "/v1/sandboxes/" + api.enc(s.id);
  const net = await api.get(path + "/network");
  const forwards: Record<string, unknown>[] = (await api.get(path + "/forwards")).forwards ?? [];
  const dl = h("dl", { class: "facts" });
  for (const [k, v] of Object.entries(net)) append(dl, h("dt", {}, k), h("dd", {}, Array.isArray(v) ? v.join(", ") || "–" : v === null ? "–" : String(v)));
  panel.append(h("h2", {}, "Policy"), dl, h("h2", {}, "Port forwards"),
    forwards.length ? h("ul", {}, ...forwards.map((f) => h("li", {}, Object.entries(f).map(([k, v]) => k + " " + String(v)).join(" · ")))) : h("p", { class: "muted" }, "none"));
  if (s.network.accessToken) {
    panel.append(h("h2", {}, "Port proxy"), h("p", {}, "A port in the sandbox, over HTTP or WebSocket, through the daemon's port proxy (its address is ",
      h("code", {}, "network.proxyListen"), " in the daemon's configuration):"),
      h("pre", { class: "output" }, "http://PROXY/v1/sandboxes/" + s.id + "/ports/PORT/\nX-Kiln-Access-Token: " + s.network.accessToken));
  }
}

