import * as api from "../api";
import { Sandbox, Usage, actionButtons } from "../sandboxes";
import { age, append, bytes, clear, h, left, toast } from "../dom";

/** The live list: filled from the watch stream's first message, then changed row by row. */
export async function sandboxesPage(main: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  const rows = new Map<string, HTMLTableRowElement>();
  const data = new Map<string, Sandbox>();
  const usage = new Map<string, Usage>();
  const body = h("tbody", { id: "sandbox-rows" });
  const count = h("span", { id: "sandbox-count" }, "…");
  const live = h("span", { id: "live", class: "muted" }, "connecting…");
  const table = h("table", { class: "list one-node" },
    h("thead", {}, h("tr", {}, ...["Sandbox", "State", "Template", "Node", "Age", "TTL left", "CPU", "Memory", "Network", ""]
      .map((c) => h("th", { class: c === "Node" ? "node-col" : null }, c)))),
    body);
  main.appendChild(h("section", {},
    h("h1", {}, "Sandboxes ", count, " ", live),
    await createForm(),
    table));

  const draw = (id: string) => {
    const s = data.get(id);
    if (!s) return;
    const u = usage.get(id);
    const cells = [
      h("td", {}, h("a", { href: "#/sandboxes/" + api.enc(s.id) }, s.id)),
      h("td", { "data-field": "status", class: "state " + s.status }, s.status),
      h("td", {}, s.template),
      h("td", { class: "node-col" }, s.node ?? "–"),
      h("td", { "data-field": "age" }, age(s.createdAt)),
      h("td", { "data-field": "ttl" }, left(s.expiresAt)),
      h("td", { "data-field": "cpu" }, cpu(u)),
      h("td", { "data-field": "memory" }, u ? bytes(u.memoryBytes) : "–"),
      h("td", {}, s.network.mode),
      h("td", { class: "actions" }, ...actionButtons(s)),
    ];
    let row = rows.get(id);
    if (!row) {
      row = h("tr", { "data-id": id });
      rows.set(id, row);
      body.prepend(row);
    }
    clear(row);
    append(row, ...cells);
  };
  const counted = () => {
    count.textContent = "(" + data.size + ")";
    // The node column says something only when sandboxes run on more than one node (a cluster).
    table.classList.toggle("one-node", new Set(Array.from(data.values(), (s) => s.node)).size <= 1);
  };

  const ticker = setInterval(() => {
    for (const [id, s] of data) {
      const row = rows.get(id);
      row?.querySelector('[data-field="age"]')?.replaceChildren(age(s.createdAt));
      row?.querySelector('[data-field="ttl"]')?.replaceChildren(left(s.expiresAt));
    }
  }, 1000);
  signal.addEventListener("abort", () => clearInterval(ticker));

  let shown: () => void = () => {};
  const first = new Promise<void>((resolve) => (shown = resolve));
  const watch = async () => {
    try {
      await api.events("/v1/sandboxes?watch=true", (name, d) => {
        live.textContent = "live";
        if (name === "sandboxes") {
          shown();
          clear(body);
          rows.clear();
          data.clear();
          for (const s of (d.sandboxes as Sandbox[]).slice().sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
            data.set(s.id, s);
            draw(s.id);
          }
        } else if (name === "changed") {
          data.set(d.id, d);
          draw(d.id);
        } else if (name === "removed") {
          data.delete(d.id);
          usage.delete(d.id);
          rows.get(d.id)?.remove();
          rows.delete(d.id);
        } else if (name === "usage") {
          // In place: a row drawn again under the pointer would lose a click on its buttons.
          for (const [id, u] of Object.entries(d.usage as Record<string, Usage>)) {
            usage.set(id, u);
            rows.get(id)?.querySelector('[data-field="cpu"]')?.replaceChildren(cpu(u));
            rows.get(id)?.querySelector('[data-field="memory"]')?.replaceChildren(bytes(u.memoryBytes));
          }
        }
        counted();
      }, signal);
    } catch (e) {
      if (signal.aborted) return;
      shown();
      live.textContent = "disconnected: " + (e instanceof Error ? e.message : String(e));
    }
    if (!signal.aborted) {
      live.textContent = "reconnecting…";
      setTimeout(watch, 2000);
    }
  };
  void watch();
  await Promise.race([first, new Promise((r) => signal.addEventListener("abort", r))]);
}

function cpu(u: Usage | undefined): string {
  return u?.cpuPercent === null || u?.cpuPercent === undefined ? "–" : u.cpuPercent.toFixed(1) + "%";
}

/** Create from a template with the common options. */
async function createForm(): Promise<HTMLElement> {
  const templates: { name: string; status: string }[] = (await api.get("/v1/templates")).templates;
  const template = h("select", { name: "template", id: "create-template" },
    ...templates.filter((t) => t.status === "ready").map((t) => h("option", { value: t.name }, t.name)));
  const vcpus = h("input", { type: "number", name: "vcpus", min: 1, max: 64, placeholder: "default", size: 6 });
  const memory = h("input", { type: "number", name: "memoryMib", min: 128, step: 64, placeholder: "default", size: 8 });
  const ttl = h("input", { type: "number", name: "timeoutSeconds", min: 0, placeholder: "default", size: 8 });
  const network = h("select", { name: "network" }, h("option", { value: "" }, "default"), h("option", { value: "internet" }, "internet"),
    h("option", { value: "none" }, "none"));
  const submit = h("button", { type: "submit", id: "create" }, "Create sandbox");
  const form = h("form", { class: "card inline", id: "create-form" },
    h("label", {}, "Template ", template), h("label", {}, "vCPUs ", vcpus), h("label", {}, "Memory MiB ", memory),
    h("label", {}, "TTL s ", ttl), h("label", {}, "Network ", network), submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const req: Record<string, unknown> = { template: template.value };
    if (vcpus.value) req.vcpus = Number(vcpus.value);
    if (memory.value) req.memoryMib = Number(memory.value);
    if (ttl.value) req.timeoutSeconds = Number(ttl.value);
    if (network.value) req.network = { mode: network.value };
    submit.disabled = true;
    submit.textContent = "Creating…";
    try {
      const s: Sandbox = await api.post("/v1/sandboxes", req);
      toast("created " + s.id);
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    } finally {
      submit.disabled = false;
      submit.textContent = "Create sandbox";
    }
  });
  return form;
}
