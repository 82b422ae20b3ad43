import * as api from "../api";
import { button, h } from "../dom";
import { format } from "./pools";

export async function nodesPage(main: HTMLElement): Promise<void> {
  const nodes: Record<string, unknown>[] = (await api.get("/v1/nodes")).nodes ?? [];
  main.appendChild(h("h1", {}, "Nodes"));
  if (nodes.length <= 1 && !nodes.some((n) => n.status !== undefined && n.status !== "up")) {
    main.appendChild(h("p", { class: "muted" }, nodes.length ? "This daemon is a single host: one node, itself." : "No nodes."));
  }
  const columns = nodes.length ? Object.keys(nodes[0]) : [];
  const act = (id: string, verb: string) => button(verb[0].toUpperCase() + verb.slice(1), async () => {
    if (verb === "drain" && !confirm("Drain node " + id + "? Its sandboxes move to other nodes.")) return;
    await api.post("/v1/nodes/" + api.enc(id) + "/" + verb);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  });
  if (nodes.length) {
    main.appendChild(h("table", { class: "list" }, h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", {}, c)), h("th", {}))),
      h("tbody", {}, ...nodes.map((n) => h("tr", {}, ...columns.map((c) => h("td", {}, format(n[c]))),
        h("td", { class: "actions" }, act(String(n.id), "cordon"), act(String(n.id), "uncordon"), act(String(n.id), "drain")))))));
  }
}
