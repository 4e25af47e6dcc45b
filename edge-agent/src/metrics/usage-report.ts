import os from "node:os";
import type { ContainerFigures, LiveResources, UsagePayload } from "@openiotfog/shared";
import type { ContainerSample } from "./container-usage";

/** Cores the node kept busy since the previous reading (every mode but idle), from the kernel's counters. */
export class NodeCpuMeter {
  private last: { busyMs: number; totalMs: number } | undefined;

  /** Undefined on the first call (nothing to compare with). */
  busyCores(): number | undefined {
    const cpus = os.cpus();
    let busyMs = 0;
    let totalMs = 0;
    for (const { times: t } of cpus) {
      const busy = t.user + t.nice + t.sys + t.irq;
      busyMs += busy;
      totalMs += busy + t.idle;
    }
    const before = this.last;
    this.last = { busyMs, totalMs };
    if (before === undefined || totalMs <= before.totalMs || busyMs < before.busyMs) return undefined;
    return ((busyMs - before.busyMs) / (totalMs - before.totalMs)) * cpus.length;
  }
}

/** The figures of the usage topic (docs/metrics.md, "Figures in the fleet API, CLI and GUI"). */
export function usageReport(
  samples: readonly ContainerSample[],
  live: LiveResources,
  cpuBusyCores: number | undefined,
  intervalMs: number,
): Omit<UsagePayload, "v" | "nodeId" | "ts" | "sessionId"> {
  const containers: ContainerFigures[] = [];
  for (const s of samples) {
    // Containers of ours carry the deployment label; one without it cannot be matched to a replica.
    if (s.deploymentId === "") continue;
    containers.push({
      deploymentId: s.deploymentId,
      ...(s.cpuCores === undefined ? {} : { cpuCores: s.cpuCores }),
      memoryBytes: s.usage.memoryBytes,
      memoryLimitBytes: s.usage.memoryLimitBytes,
      restarts: s.usage.restarts,
    });
  }
  const { totalBytes, freeBytes } = live.memory;
  return {
    intervalMs,
    node: {
      ...(cpuBusyCores === undefined ? {} : { cpuBusyCores }),
      cpuCores: live.cpuCores,
      memoryUsedBytes: Math.max(0, totalBytes - freeBytes),
      memoryTotalBytes: totalBytes,
    },
    containers,
  };
}
