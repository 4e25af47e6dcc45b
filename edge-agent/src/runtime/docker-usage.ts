import type { ContainerUsage } from "./runtime";

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v !== null && typeof v === "object" ? (v as Json) : {});
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);

/**
 * A container's usage from one reading of the Engine API's stats (`stream=false&one-shot=true`) and its
 * restart count (from inspect). Missing or malformed fields read as 0: the stats differ between cgroup v1 and
 * v2 and between engine versions, and a figure we cannot read must not stop the others.
 */
export function usageFromDockerStats(stats: unknown, restartCount: unknown): ContainerUsage {
  const s = obj(stats);
  const cpu = obj(obj(s.cpu_stats).cpu_usage);
  const memory = obj(s.memory_stats);
  const memStats = obj(memory.stats);
  // As `docker stats` computes it: cgroup v1 reports total_inactive_file, v2 inactive_file.
  const inactive = "total_inactive_file" in memStats ? memStats.total_inactive_file : memStats.inactive_file;
  const usage = num(memory.usage);
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(obj(s.networks))) {
    rx += num(obj(n).rx_bytes);
    tx += num(obj(n).tx_bytes);
  }
  return {
    cpuSeconds: num(cpu.total_usage) / 1e9,
    memoryBytes: Math.max(0, usage - num(inactive)),
    memoryLimitBytes: num(memory.limit),
    networkReceiveBytes: rx,
    networkTransmitBytes: tx,
    restarts: num(restartCount),
  };
}
