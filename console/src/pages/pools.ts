import * as api from "../api";
import { button, h, toast } from "../dom";

export async function poolsPage(main: HTMLElement): Promise<void> {
  const pools: Record<string, unknown>[] = (await api.get("/v1/pools")).pools;
  const template = h("input", { type: "text", id: "pool-template", required: true, size: 20 });
  const min = h("input", { type: "number", id: "pool-min", min: 0, value: 1, size: 5 });
  const max = h("input", { type: "number", id: "pool-max", min: 0, value: 2, size: 5 });
  const form = h("form", { class: "card inline" }, h("label", {}, "Template ", template), h("label", {}, "min ready ", min), h("label", {}, "max ready ", max),
    h("button", { type: "submit" }, "Set pool"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api.call("PUT", "/v1/pools/" + api.enc(template.value), { minReady: Number(min.value), maxReady: Number(max.value) });
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  });
  const columns: [string, (p: Record<string, unknown>) => unknown][] = [
    ["Template", (p) => p.template], ["Min ready", (p) => p.minReady], ["Max ready", (p) => p.maxReady], ["Ready", (p) => p.ready],
    ["Filling", (p) => p.filling], ["Claims", (p) => p.claims], ["Misses", (p) => p.misses], ["Hit rate", hitRate], ["Last error", (p) => p.lastError],
  ];
  main.append(h("h1", {}, "Warm pools"), form,
    pools.length
      ? h("table", { class: "list", id: "pool-rows" }, h("thead", {}, h("tr", {}, ...columns.map(([c]) => h("th", {}, c)), h("th", {}))),
          h("tbody", {}, ...pools.map((p) => h("tr", { "data-template": String(p.template) }, ...columns.map(([, f]) => h("td", {}, format(f(p)))),
            h("td", {}, button("Remove", async () => {
              if (!confirm("Remove the pool of " + String(p.template) + "? Its ready VMs are stopped.")) return;
              await api.del("/v1/pools/" + api.enc(String(p.template)));
              window.dispatchEvent(new HashChangeEvent("hashchange"));
            }, { class: "danger" }))))))
      : h("p", { class: "muted" }, "No warm pools: sandboxes restore from their template's snapshot."));
}

/** Claims served from the pool against all claims (a miss restored or booted instead). */
function hitRate(p: Record<string, unknown>): string {
  const claims = Number(p.claims ?? 0);
  const misses = Number(p.misses ?? 0);
  return claims + misses === 0 ? "–" : Math.round((100 * claims) / (claims + misses)) + "%";
}

export function format(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number" && !Number.isInteger(v)) return v.toFixed(2);
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}
