/**
 * Removals the driver owes to fog nodes, and what counts as a left-over copy of a VNFC. Pure: no I/O, no clock
 * (callers pass times in). The component that acts on it when a node comes back is ./returning-nodes.ts.
 *
 * Why: a VNFC re-placed because its node was lost (HEAL) leaves the old container on that node, and the agent
 * keeps it running across its own restarts. When the node comes back, the fleet would run two copies of one
 * VNFC holding the same ports, devices and network alias.
 */

/** A driver-placed deployment that could not be removed because its node was offline or did not answer. */
export interface Tombstone {
  nodeId: string;
  /** The agent's deployment id (`<driver prefix><random>.<service>.0`). */
  deploymentId: string;
  /** Epoch ms of the first removal that failed. */
  since: number;
  /** Why it could not be removed then (the agent call's error). */
  reason: string;
}

/**
 * Where tombstones are kept: the driver's declared state (fleet/declared.ts, so they survive a driver restart)
 * or, by default, memory. Changes apply at once; `add` / `remove` resolve when they are stored.
 */
export interface TombstoneBook {
  tombstones(): Array<{ nodeId: string; agentDeploymentId: string; since: number; reason: string }>;
  addTombstone(t: {
    nodeId: string;
    agentDeploymentId: string;
    since: number;
    reason: string;
  }): Promise<void>;
  removeTombstone(nodeId: string, agentDeploymentId: string): Promise<void>;
}

function memoryBook(): TombstoneBook {
  let list: ReturnType<TombstoneBook["tombstones"]> = [];
  return {
    tombstones: () => list.map((t) => ({ ...t })),
    addTombstone: async (t) => {
      const known = list.find((x) => x.nodeId === t.nodeId && x.agentDeploymentId === t.agentDeploymentId);
      if (known === undefined) list.push({ ...t });
      else known.reason = t.reason;
    },
    removeTombstone: async (nodeId, id) => {
      list = list.filter((t) => !(t.nodeId === nodeId && t.agentDeploymentId === id));
    },
  };
}

/** The removals owed to nodes, kept in a TombstoneBook (the driver's declared state: they survive a restart). */
export class PendingRemovals {
  constructor(private readonly book: TombstoneBook = memoryBook()) {}

  /** Remembers a removal; a second failure for the same deployment keeps the first `since`. */
  add(t: Tombstone): void {
    const { deploymentId, ...rest } = t;
    // The book logs a failed write; the tombstone is kept in memory meanwhile.
    void this.book.addTombstone({ ...rest, agentDeploymentId: deploymentId }).catch(() => undefined);
  }

  has(nodeId: string, deploymentId: string): boolean {
    return this.all().some((t) => t.nodeId === nodeId && t.deploymentId === deploymentId);
  }

  /** The removals owed to one node, oldest first. */
  forNode(nodeId: string): Tombstone[] {
    return this.all()
      .filter((t) => t.nodeId === nodeId)
      .sort((a, b) => a.since - b.since);
  }

  /** Forgets a removal once its node answered (removed, or it had nothing by that id). */
  drop(nodeId: string, deploymentId: string): boolean {
    if (!this.has(nodeId, deploymentId)) return false;
    void this.book.removeTombstone(nodeId, deploymentId).catch(() => undefined);
    return true;
  }

  get size(): number {
    return this.book.tombstones().length;
  }

  private all(): Tombstone[] {
    return this.book
      .tombstones()
      .map(({ agentDeploymentId, ...t }) => ({ ...t, deploymentId: agentDeploymentId }));
  }
}

/** One container a node reports (the agent's `list`), reduced to what the superseded-copy rule reads. */
export interface PlacedCopy {
  nodeId: string;
  deploymentId: string;
  /** The ServiceSpec name: serviceName(NFVO hostname). */
  service: string;
  image: string;
  state: string;
  /** The agent's clock, epoch ms. */
  createdAt: number;
}

export interface SupersedeRules {
  /** Placed by this driver (its Open Baton deployment prefix). */
  isOurs(deploymentId: string): boolean;
  /** Launched by this driver process: its own relaunches are covered exactly, by tombstones. */
  launchedHere(deploymentId: string): boolean;
  /** Already owed a removal (a tombstone handles it). */
  pending(nodeId: string, deploymentId: string): boolean;
}

export interface SupersededCopy {
  stale: PlacedCopy;
  newer: PlacedCopy;
}

export interface SupersedeResult {
  superseded: SupersededCopy[];
  /** Services with several copies that were left alone, and why (for the log). */
  skipped: Array<{ service: string; reason: string }>;
}

/** An NFVO hostname is `<vnfr name>-<random 0..9999999>`; serviceName lower-cases it and cuts it at 63. */
const NFVO_HOSTNAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-\d{1,7}$/;
/**
 * serviceName cuts at 63 characters and then drops trailing '-': a cut name is 63 characters long unless the
 * cut fell right after a run of dashes. Names of 59 or fewer characters can come from a cut only after a run of
 * at least 4 non-DNS characters, which NFVO names (VNFD names) do not have.
 */
const LONGEST_UNCUT = 59;

/** Whether a service name is surely a whole NFVO hostname (not cut short, not some other naming). */
export function isWholeNfvoHostname(service: string): boolean {
  return service.length <= LONGEST_UNCUT && NFVO_HOSTNAME.test(service);
}

/**
 * Left-over copies of VNFCs that were placed again elsewhere while this driver did not run (or before it
 * restarted): the same VNFC (same NFVO hostname, so the same service name) also runs on another node, newer.
 *
 * Could this remove a legitimate VNFC? Only if two different VNFCs had the same service name. Guards:
 * - Names that may have been cut at 63 characters are skipped: every VNFC of a VNF with a long name would
 *   share one, and scaled-out copies on several nodes would look like left-overs.
 * - Only names of the NFVO's `<vnfr>-<random>` form, only deployments of this driver, and only when all copies
 *   have the same image and no node holds two of them.
 * - The newest copy must be running (never remove a copy before its replacement runs) and must not have been
 *   launched by this driver process: the driver's own relaunches leave tombstones, which are exact; this rule
 *   only stands in for knowledge a restart lost. Copies launched by this process are never removed here.
 * What remains is two different VNFCs whose random suffixes collide (1 in 10^7 per pair of VNFCs of one
 * VNF): those already share a network alias and a dependency value (`SERVER_HOSTNAME`), so the NFVO's own
 * wiring is broken for them anyway. "Newest" compares agents' clocks across nodes; a skew larger than the time
 * between launch and relaunch would keep the older copy instead, still exactly one.
 */
export function findSupersededCopies(copies: PlacedCopy[], rules: SupersedeRules): SupersedeResult {
  const byService = new Map<string, PlacedCopy[]>();
  for (const c of copies) {
    if (!rules.isOurs(c.deploymentId)) continue;
    byService.set(c.service, [...(byService.get(c.service) ?? []), c]);
  }
  const out: SupersedeResult = { superseded: [], skipped: [] };
  const skip = (service: string, reason: string): void => void out.skipped.push({ service, reason });
  for (const [service, group] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
    if (group.length < 2) continue;
    if (!isWholeNfvoHostname(service)) {
      skip(service, "not surely a whole NFVO hostname (cut at 63 characters, or another naming)");
      continue;
    }
    if (new Set(group.map((c) => c.nodeId)).size !== group.length) {
      skip(service, "a node holds more than one copy");
      continue;
    }
    if (new Set(group.map((c) => c.image)).size !== 1) {
      skip(service, "the copies run different images");
      continue;
    }
    const sorted = [...group].sort((a, b) => b.createdAt - a.createdAt);
    const [newer, second] = sorted as [PlacedCopy, PlacedCopy];
    if (newer.createdAt === second.createdAt) {
      skip(service, "no single newest copy");
      continue;
    }
    if (newer.state !== "running") {
      skip(service, `the newest copy (${newer.nodeId}) is ${newer.state}, not running`);
      continue;
    }
    if (rules.launchedHere(newer.deploymentId)) {
      skip(service, "the newest copy was launched by this driver process");
      continue;
    }
    for (const stale of sorted.slice(1)) {
      if (rules.launchedHere(stale.deploymentId) || rules.pending(stale.nodeId, stale.deploymentId)) continue;
      out.superseded.push({ stale, newer });
    }
  }
  return out;
}
