import * as api from "../api";
import { Sandbox } from "../sandboxes";
import { bytes, clear, h, toast } from "../dom";

interface Entry {
  name: string;
  type: string;
  size: number;
  mode: string;
  mtime: string;
}

/** Text shown in the page up to this size; larger files are downloaded instead. */
const VIEW_LIMIT = 1 << 20;

/** A file browser: list, open text, download, and upload by drag and drop (with progress). */
export async function filesTab(panel: HTMLElement, s: Sandbox, signal: AbortSignal): Promise<void> {
  const files = "/v1/sandboxes/" + api.enc(s.id) + "/files";
  const where = h("input", { type: "text", id: "files-path", value: "/tmp", size: 60 });
  const table = h("tbody", { id: "file-rows" });
  const viewer = h("pre", { class: "output", id: "file-view", hidden: true });
  const viewing = h("h2", { hidden: true }, "Contents");
  const progress = h("progress", { id: "upload-progress", max: 1, value: 0, hidden: true });
  const picker = h("input", { type: "file", id: "upload-input", multiple: true });
  const drop = h("div", { class: "drop", id: "drop-zone" }, "Drop files here to upload them into the folder above, or ", picker, progress);
  const join = (dir: string, name: string) => (dir.endsWith("/") ? dir : dir + "/") + name;

  const list = async (dir: string) => {
    where.value = dir;
    clear(table);
    const entries: Entry[] = (await api.get(files + "/list?path=" + api.enc(dir))).entries;
    entries.sort((a, b) => (a.type === "directory" ? 0 : 1) - (b.type === "directory" ? 0 : 1) || a.name.localeCompare(b.name));
    if (dir !== "/") table.appendChild(row({ name: "..", type: "directory", size: 0, mode: "", mtime: "" }, () => list(dir.replace(/\/[^/]+\/?$/, "") || "/")));
    for (const e of entries) {
      const path = join(dir, e.name);
      table.appendChild(row(e, e.type === "directory" ? () => list(path) : () => view(path, e), () => download(path, e.name)));
    }
  };
  const view = async (path: string, e: Entry) => {
    if (e.size > VIEW_LIMIT) {
      toast(e.name + " is " + bytes(e.size) + ": download it instead", "error");
      return;
    }
    const r = await api.open(files + "?path=" + api.enc(path), signal);
    viewer.textContent = new TextDecoder().decode(await r.arrayBuffer());
    viewing.textContent = path;
    viewer.hidden = viewing.hidden = false;
  };
  const download = async (path: string, name: string) => {
    const r = await api.open(files + "?path=" + api.enc(path), signal);
    const url = URL.createObjectURL(await r.blob());
    const a = h("a", { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };
  const upload = async (list: FileList | null) => {
    if (!list) return;
    for (const f of Array.from(list)) {
      progress.hidden = false;
      const path = join(where.value, f.name);
      await api.upload(files + "?path=" + api.enc(path), f, (sent, total) => {
        progress.max = total || 1;
        progress.value = sent;
      }).then(() => toast("uploaded " + path), (e) => toast(e.message, "error"));
    }
    progress.hidden = true;
    await listNow(where.value);
  };
  const listNow = (dir: string) => list(dir).catch((e) => toast(e.message, "error"));

  picker.addEventListener("change", () => void upload(picker.files));
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    void upload(e.dataTransfer?.files ?? null);
  });
  const go = h("form", { class: "inline" }, h("label", {}, "Folder ", where), h("button", { type: "submit" }, "List"));
  go.addEventListener("submit", (e) => {
    e.preventDefault();
    void listNow(where.value);
  });
  panel.append(go, drop,
    h("table", { class: "list" }, h("thead", {}, h("tr", {}, ...["name", "size", "mode", "modified", ""].map((c) => h("th", {}, c)))), table),
    viewing, viewer);
  await listNow(where.value);
}

function row(e: Entry, open: () => unknown, download?: () => unknown): HTMLTableRowElement {
  const name = h("a", { href: "#", "data-name": e.name }, e.name + (e.type === "directory" ? "/" : ""));
  name.addEventListener("click", (ev) => {
    ev.preventDefault();
    void Promise.resolve(open()).catch((err) => toast(err.message, "error"));
  });
  return h("tr", {}, h("td", {}, name), h("td", {}, e.type === "directory" ? "" : bytes(e.size)), h("td", {}, e.mode),
    h("td", {}, e.mtime ? new Date(e.mtime).toLocaleString() : ""),
    h("td", {}, download ? h("button", { type: "button", onclick: () => void Promise.resolve(download()).catch((err) => toast(err.message, "error")) }, "Download") : ""));
}
