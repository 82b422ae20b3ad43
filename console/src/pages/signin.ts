import * as api from "../api";
import { h } from "../dom";

/** Asks for an API key and checks it against the daemon before keeping it. */
export function signInPage(main: HTMLElement): void {
  const input = h("input", { type: "password", id: "api-key", name: "key", autocomplete: "off", placeholder: "kiln_…", size: 50, required: true });
  const problem = h("p", { class: "error", id: "sign-in-error" });
  const form = h("form", { class: "card sign-in", id: "sign-in" },
    h("h1", {}, "Sign in"),
    h("p", {}, "An API key of this daemon (", h("code", {}, "kiln key create"), ", or the dev key in the data directory). It is kept in this tab only."),
    h("label", {}, "API key ", input),
    h("button", { type: "submit" }, "Sign in"),
    problem);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    problem.textContent = "";
    api.signIn(input.value.trim());
    try {
      await api.get("/v1/templates");
      if (location.hash === "#/sandboxes") window.dispatchEvent(new HashChangeEvent("hashchange"));
      else location.hash = "#/sandboxes";
    } catch (err) {
      api.signOut();
      problem.textContent = err instanceof Error ? err.message : String(err);
    }
  });
  main.appendChild(form);
  input.focus();
}
