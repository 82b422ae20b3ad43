import uPlot from "uplot";
import * as api from "../api";
import { Sandbox } from "../sandboxes";
import { bytes, h } from "../dom";
import type { Live } from "./sandbox";

/** One reading of the watch stream's usage for this sandbox. */
export interface UsagePoint {
  at: number;
  cpuPercent: number | null;
  memoryBytes: number | null;
}

interface Sample {
  at: string;
  cpuSeconds: number | null;
  memoryBytes: number | null;
  diskBytes: number | null;
  rxBytes: number | null;
  txBytes: number | null;
}

/** CPU, memory, disk and network over the last hour (the daemon's samples), extended live. */
export async function metricsTab(panel: HTMLElement, s: Sandbox, signal: AbortSignal, live: Live): Promise<void> {
  const samples: Sample[] = (await api.get("/v1/sandboxes/" + api.enc(s.id) + "/metrics/history")).samples;
  const t: number[] = [], cpu: (number | null)[] = [], mem: (number | null)[] = [], disk: (number | null)[] = [], rx: (number | null)[] = [], tx: (number | null)[] = [];
  samples.forEach((x, i) => {
    const prev = samples[i - 1];
    const secs = prev ? (Date.parse(x.at) - Date.parse(prev.at)) / 1000 : 0;
    const rate = (a: number | null, b: number | null | undefined) => (prev && secs > 0 && a !== null && b !== null && b !== undefined ? Math.max(0, (a - b) / secs) : null);
    t.push(Date.parse(x.at) / 1000);
    cpu.push(rate(x.cpuSeconds, prev?.cpuSeconds) === null ? null : rate(x.cpuSeconds, prev?.cpuSeconds)! * 100);
    mem.push(x.memoryBytes);
    disk.push(x.diskBytes);
    rx.push(rate(x.rxBytes, prev?.rxBytes));
    tx.push(rate(x.txBytes, prev?.txBytes));
  });
  const width = Math.max(300, Math.min(900, panel.clientWidth || 800));
  const chart = (title: string, series: { label: string; data: (number | null)[] }[], format: (v: number) => string) => {
    const box = h("div", { class: "chart", "data-chart": title });
    panel.appendChild(box);
    const plot = new uPlot({
      title, width, height: 180,
      series: [{}, ...series.map((x, i) => ({ label: x.label, stroke: ["#2b6cb0", "#c05621"][i], value: (_u: uPlot, v: number | null) => (v === null ? "–" : format(v)) }))],
      axes: [{}, { values: (_u: uPlot, ticks: number[]) => ticks.map(format), size: 80 }],
    }, [t, ...series.map((x) => x.data)] as uPlot.AlignedData, box);
    signal.addEventListener("abort", () => plot.destroy());
    return plot;
  };
  panel.appendChild(h("p", { class: "muted" }, samples.length
    ? samples.length + " samples since " + new Date(samples[0].at).toLocaleTimeString() + "; the daemon keeps an hour of them"
    : "No samples yet: the daemon takes one every 15 seconds while the sandbox runs."));
  const cpuChart = chart("CPU", [{ label: "% of a core", data: cpu }], (v) => (v < 10 ? v.toFixed(1) : v.toFixed(0)) + "%");
  const memChart = chart("Memory", [{ label: "in use", data: mem }], (v) => bytes(v));
  chart("Disk", [{ label: "used", data: disk }], (v) => bytes(v));
  chart("Network", [{ label: "received/s", data: rx }, { label: "sent/s", data: tx }], (v) => bytes(v) + "/s");
  // Between samples the watch stream's readings extend CPU and memory, once a second.
  live.onUsage((u) => {
    t.push(u.at / 1000);
    cpu.push(u.cpuPercent);
    mem.push(u.memoryBytes);
    for (const other of [disk, rx, tx]) other.push(null);
    cpuChart.setData([t, cpu] as uPlot.AlignedData);
    memChart.setData([t, mem] as uPlot.AlignedData);
  });
}
