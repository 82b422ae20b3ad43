import * as api from "../api";
import { bytes, button, h, toast } from "../dom";

interface Template {
  name: string;
  version: number | null;
  status: string;
  source: string;
  sizeBytes: number | null;
  machine: string;
  snapshot?: unknown;
  [k: string]: unknown;
}

export async function templatesPage(main: HTMLElement): Promise<void> {
  const list: Template[] = (await api.get("/v1/templates")).templates;
  const name = h("input", { type: "text", name: "name", id: "build-name", required: true, placeholder: "my-template", size: 20 });
  const image = h("input", { type: "text", name: "image", id: "build-image", required: true, placeholder: "registry:5000/app:1 or oci:/path", size: 50 });
  const form = h("form", { class: "card inline", id: "build-form" }, h("label", {}, "Name ", name), h("label", {}, "Image ", image),
    h("button", { type: "submit" }, "Build"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api.post("/v1/templates", { name: name.value, image: image.value });
      location.hash = "#/templates/" + api.enc(name.value);
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  });
  main.append(h("h1", {}, "Templates"), form,
    h("table", { class: "list" }, h("thead", {}, h("tr", {}, ...["Name", "Version", "Status", "Source", "Size", "Machine"].map((c) => h("th", {}, c)))),
      h("tbody", { id: "template-rows" }, ...list.map((t) => h("tr", { "data-name": t.name },
        h("td", {}, h("a", { href: "#/templates/" + api.enc(t.name) }, t.name)), h("td", {}, t.version ?? "–"),
        h("td", { class: "state " + t.status }, t.status), h("td", {}, h("code", {}, t.source)), h("td", {}, bytes(t.sizeBytes)), h("td", {}, t.machine))))));
}

/** One template: its facts, the sandboxes made from it, and its build log (followed while it builds). */
export async function templatePage(main: HTMLElement, [name]: string[], signal: AbortSignal): Promise<void> {
  const t: Template = await api.get("/v1/templates/" + api.enc(name));
  const facts = h("dl", { class: "facts", id: "template-facts" });
  drawFacts(facts, t);
  const users = (await api.get("/v1/sandboxes")).sandboxes.filter((s: { template: string }) => s.template === t.name);
  const log = h("pre", { class: "output", id: "build-log" });
  const logState = h("span", { class: "muted", id: "build-log-state" }, "…");
  main.append(h("h1", {}, "Template ", h("code", {}, t.name), " ", h("span", { class: "state " + t.status, id: "template-state" }, t.status)),
    h("div", { class: "actions" }, button("Snapshot again", async () => {
      await api.post("/v1/templates/" + api.enc(t.name) + "/snapshot");
      toast("snapshot of " + t.name + " taken");
    })),
    facts,
    h("h2", {}, "Sandboxes from it (" + users.length + ")"),
    users.length ? h("ul", {}, ...users.map((s: { id: string; status: string }) => h("li", {}, h("a", { href: "#/sandboxes/" + api.enc(s.id) }, s.id), " " + s.status)))
      : h("p", { class: "muted" }, "none"),
    h("h2", {}, "Build log ", logState), log);
  const progress = h("div", { id: "build-progress" });
  log.before(progress);
  void followProgress(name, progress, signal);
  try {
    logState.textContent = t.status === "ready" || t.status === "failed" ? "" : "following";
    await api.followLines("/v1/templates/" + api.enc(t.name) + "/logs", (line) => log.append(line + "\n"), signal);
    logState.textContent = "ended";
  } catch (e) {
    if (!signal.aborted) logState.textContent = e instanceof Error ? e.message : String(e);
  }
}

function drawFacts(dl: HTMLElement, t: Template): void {
  dl.replaceChildren(...Object.entries(t).filter(([k]) => k !== "progress")
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v !== null && typeof v === "object" ? JSON.stringify(v) : String(v ?? "–"))]));
}

interface Layer {
  digest: string;
  size: number;
  done: number;
  state: string;
}

/** While it builds: the phase and each layer's download, read four times a second; then the template's final state. */
async function followProgress(name: string, box: HTMLElement, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const t: Template & { progress?: { phase: string; layers: Layer[] } } = await api.get("/v1/templates/" + api.enc(name));
    const facts = document.getElementById("template-facts");
    if (facts) drawFacts(facts, t);
    const state = document.getElementById("template-state");
    if (state) {
      state.textContent = t.status;
      state.className = "state " + t.status;
    }
    box.replaceChildren(...(t.progress ? [h("p", {}, "Phase: ", h("b", {}, t.progress.phase)),
      ...t.progress.layers.map((l) => h("div", { class: "layer" }, h("code", {}, l.digest.slice(0, 19)), " ",
        h("progress", { max: l.size || 1, value: l.done }), " " + bytes(l.done) + " / " + bytes(l.size) + " " + l.state))] : []));
    if (t.status === "ready" || t.status === "failed") return;
    await new Promise((r) => setTimeout(r, 250));
  }
}
