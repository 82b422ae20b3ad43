import "./nonce";
import * as api from "./api";
import { clear, h, toast } from "./dom";
import { signInPage } from "./pages/signin";
import { sandboxesPage } from "./pages/sandboxes";
import { sandboxPage } from "./pages/sandbox";
import { templatesPage, templatePage } from "./pages/templates";
import { poolsPage } from "./pages/pools";
import { nodesPage } from "./pages/nodes";

/** A page draws into main; it stops its streams and sockets when signal aborts (the user went elsewhere). */
export type Page = (main: HTMLElement, params: string[], signal: AbortSignal) => void | Promise<void>;

const routes: [RegExp, Page][] = [
  [/^\/sandboxes$/, sandboxesPage],
  [/^\/sandboxes\/([A-Za-z0-9_-]+)(?:\/([a-z]+))?$/, sandboxPage],
  [/^\/templates$/, templatesPage],
  [/^\/templates\/([A-Za-z0-9._:-]+)$/, templatePage],
  [/^\/pools$/, poolsPage],
  [/^\/nodes$/, nodesPage],
];

let current: AbortController | null = null;

async function show(): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  // Each page draws into a view of its own: a page still awaiting a call when the user moved on
  // draws into a view no longer shown, never next to the page that replaced it.
  const view = h("div", { class: "view" });
  document.getElementById("main")!.replaceChildren(view);
  const path = location.hash.replace(/^#/, "") || "/sandboxes";
  if (!api.key()) {
    nav(false);
    signInPage(view);
    return;
  }
  nav(true);
  for (const [pattern, page] of routes) {
    const m = pattern.exec(path);
    if (!m) continue;
    try {
      await page(view, m.slice(1).map((p) => (p === undefined ? "" : decodeURIComponent(p))), controller.signal);
      // When the page shows what it is for (a list: its first snapshot): what load times are measured to.
      performance.mark("kiln:page-ready", { detail: path });
    } catch (e) {
      if (controller.signal.aborted) return;
      view.appendChild(h("p", { class: "error" }, e instanceof Error ? e.message : String(e)));
    }
    return;
  }
  view.appendChild(h("p", { class: "error" }, "no page at " + path));
}

function nav(signedIn: boolean): void {
  const n = document.getElementById("nav")!;
  const who = document.getElementById("who")!;
  clear(n);
  clear(who);
  if (!signedIn) return;
  for (const [href, label] of [["#/sandboxes", "Sandboxes"], ["#/templates", "Templates"], ["#/pools", "Warm pools"], ["#/nodes", "Nodes"]]) {
    const active = location.hash.startsWith(href) || (href === "#/sandboxes" && location.hash === "");
    n.appendChild(h("a", { href, class: active ? "active" : null }, label));
  }
  who.appendChild(h("button", { type: "button", id: "sign-out", onclick: () => { api.signOut(); location.hash = "#/sandboxes"; void show(); } }, "Sign out"));
}

api.whenUnauthorized(() => {
  api.signOut();
  toast("the key was refused: sign in again", "error");
  void show();
});
window.addEventListener("hashchange", () => void show());
void show();
