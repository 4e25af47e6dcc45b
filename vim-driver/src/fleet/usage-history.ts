/** One reading of a node's usage topic. */
export interface UsagePoint {
  /** Epoch ms when the driver received it. */
  t: number;
  /** Cores busy since the agent's previous reading (absent in an agent's first message). */
  cpuBusyCores?: number;
  memoryUsedBytes: number;
}

/** A node's recent usage, oldest point first. */
export interface NodeUsageHistory {
  nodeId: string;
  cpuCores: number;
  memoryTotalBytes: number;
  /** How often the agent publishes (its metrics sampler's interval). */
  intervalMs: number;
  points: UsagePoint[];
}

export interface UsageHistoryOptions {
  /** Points older than this are dropped. Default 15 minutes. */
  windowMs?: number;
  /** Points kept per node whatever the agent's interval. Default 180. */
  maxPoints?: number;
}

/**
 * The last minutes of every node's CPU and memory, from the agents' usage messages, for the GUI's sparklines.
 * Bounded: at most `maxPoints` per node (the oldest go first) and only nodes the fleet view keeps.
 */
export class UsageHistory {
  private readonly byNode = new Map<string, NodeUsageHistory>();
  readonly windowMs: number;
  private readonly maxPoints: number;

  constructor(opts: UsageHistoryOptions = {}) {
    this.windowMs = opts.windowMs ?? 15 * 60_000;
    this.maxPoints = opts.maxPoints ?? 180;
  }

  record(
    nodeId: string,
    point: UsagePoint,
    node: { cpuCores: number; memoryTotalBytes: number; intervalMs: number },
  ): void {
    let h = this.byNode.get(nodeId);
    if (h === undefined) {
      h = { nodeId, ...node, points: [] };
      this.byNode.set(nodeId, h);
    }
    Object.assign(h, node);
    h.points.push(point);
    const oldest = point.t - this.windowMs;
    let drop = Math.max(0, h.points.length - this.maxPoints);
    while (drop < h.points.length && (h.points[drop]?.t ?? 0) < oldest) drop++;
    if (drop > 0) h.points.splice(0, drop);
  }

  forget(nodeId: string): void {
    this.byNode.delete(nodeId);
  }

  /** Every node's points received after `since` (epoch ms) and inside the window, sorted by node id. */
  since(since: number, now: number): NodeUsageHistory[] {
    const from = Math.max(since, now - this.windowMs);
    const out: NodeUsageHistory[] = [];
    for (const h of this.byNode.values()) {
      out.push({ ...h, points: h.points.filter((p) => p.t > from) });
    }
    return out.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }
}
