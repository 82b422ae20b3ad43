// What a sandbox looks like to the console, and the actions every page offers on one.
import * as api from "./api";
import { button, toast } from "./dom";

export interface Sandbox {
  id: string;
  status: string;
  template: string;
  node?: string;
  vcpus: number;
  memoryMib: number;
  createdAt: string;
  expiresAt: string | null;
  network: { mode: string; address?: string; accessToken?: string };
  metadata: Record<string, string>;
  error?: string;
}

export interface Usage {
  cpuPercent: number | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
}

type Action = { label: string; when: string[]; confirm?: string; run: (id: string) => Promise<unknown> };

const path = (id: string) => "/v1/sandboxes/" + api.enc(id);

export const ACTIONS: Action[] = [
  { label: "Pause", when: ["running"], run: (id) => api.post(path(id) + "/pause") },
  { label: "Resume", when: ["paused"], run: (id) => api.post(path(id) + "/resume") },
  { label: "Stop", when: ["running"], confirm: "Stop sandbox {id}? Its processes end; its disk is kept.", run: (id) => api.post(path(id) + "/stop") },
  { label: "Start", when: ["stopped"], run: (id) => api.post(path(id) + "/start") },
  { label: "Delete", when: ["running", "paused", "stopped", "failed", "lost"], confirm: "Delete sandbox {id}? Its disk, checkpoints and processes are gone for good.",
    run: (id) => api.del(path(id)) },
];

/** The buttons for what can be done to a sandbox in its state; {@code done} runs after each succeeds. */
export function actionButtons(s: Sandbox, done: (label: string) => void = () => {}): HTMLButtonElement[] {
  return ACTIONS.filter((a) => a.when.includes(s.status)).map((a) =>
    button(a.label, async () => {
      if (a.confirm && !confirm(a.confirm.replace("{id}", s.id))) return;
      await a.run(s.id);
      toast(a.label + ": " + s.id);
      done(a.label);
    }, { class: a.label === "Delete" ? "danger" : null, "data-action": a.label.toLowerCase() }));
}
