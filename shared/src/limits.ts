import type { Logger } from "./logging";

/**
 * Bounds on every table that grows with what other machines send (docs/security.md, "Limits"). A process that
 * keeps whatever arrives can be made to run out of memory or file descriptors by one noisy or hostile sender;
 * at a bound the new entry is refused, counted and logged, and what is already there keeps working.
 */
export const DEFAULT_LIMITS = {
  /** Agent: other nodes kept in the peer table (presence, capabilities, heartbeats). */
  peers: 10_000,
  /** Driver: nodes kept in the fleet view. */
  fleetNodes: 10_000,
  /** Driver: open ZeroMQ connections to agents; the least recently used idle one is closed for a new one. */
  agentConnections: 256,
  /** Agent: open ZeroMQ connections to peers it forwards deploys to (same rule). */
  peerConnections: 64,
  /** Agent: devices known only from hardware events (attach events for new devices beyond it are refused). */
  hotplugDevices: 256,
  /** Agent: commands being handled at once on the command endpoint; beyond it, a retryable UNAVAILABLE reply. */
  inFlightCommands: 256,
  /** Driver: Open Baton background jobs (deletions) waiting or running; beyond it, an exception reply. */
  backgroundJobs: 1000,
  /** Agent client: largest reply (envelope and attachment together) accepted from an agent, in bytes. */
  replyBytes: 9 * 1024 * 1024,
} as const;

/**
 * Counts the entries refused at one bound and logs them: the first refusal at once, then at most one line per
 * interval with the number refused meanwhile, so a flood of refused input does not become a flood of log lines.
 */
export class LimitRefusals {
  private count = 0;
  private unlogged = 0;
  private lastLogged = Number.NEGATIVE_INFINITY;

  constructor(
    /** What is bounded, for the log line: "peer table", "fleet view". */
    readonly what: string,
    readonly limit: number,
    private readonly logger: Logger | undefined,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many entries were refused since start. */
  get refused(): number {
    return this.count;
  }

  refuse(details: Record<string, unknown> = {}): void {
    this.count += 1;
    this.unlogged += 1;
    const now = this.now();
    if (now - this.lastLogged < this.intervalMs) return;
    this.logger?.warn(`${this.what}: limit of ${this.limit} reached, refused`, {
      ...details,
      limit: this.limit,
      refusedSinceLastLine: this.unlogged,
      refusedTotal: this.count,
    });
    this.lastLogged = now;
    this.unlogged = 0;
  }
}
