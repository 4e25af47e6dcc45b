import { errorMessage, keyFingerprint, type Component, type Logger } from "@openiotfog/shared";
import type { AgentPool } from "../fleet/agents";
import type { FleetSecurity } from "./fleet-security";

export interface TrustDistributorOptions {
  security: FleetSecurity;
  agents: AgentPool;
  /** The nodes the fleet view sees online, and a hook for its changes. */
  online: () => string[];
  onFleetChange: (listener: (nodeId: string) => void) => () => void;
  logger: Logger;
}

export interface RotationReport {
  fleetKey: string;
  /** Nodes that admit the new key. */
  reached: string[];
  /** Enrolled nodes not reached yet (offline): they get the new key when they come back; the old key stays till then. */
  pending: string[];
  finished: boolean;
}

/**
 * Keeps every live agent's trust list current over the authenticated command channel: after an enrollment, a
 * revocation or a rotation, and whenever a node comes (back) online with an older list. Each list carries a MAC
 * only the fleet key can make, so an enrolled peer cannot push one.
 */
export class TrustDistributor implements Component {
  readonly name = "trust-distributor";
  /** What each node holds as far as we know: `<issuedAt>|<fleet key it was signed with>`. */
  private readonly delivered = new Map<string, string>();
  private chain: Promise<void> = Promise.resolve();
  private readonly unsubscribe: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: TrustDistributorOptions) {}

  async start(): Promise<void> {
    if (!this.opts.security.enabled) return;
    this.stopped = false;
    this.unsubscribe.push(
      this.opts.security.onChange(() => {
        this.opts.agents.prune();
        this.scheduleAll();
      }),
      this.opts.onFleetChange((nodeId) => {
        if (this.stale(nodeId)) void this.enqueue(async () => void (await this.pushTo(nodeId)));
      }),
    );
    this.scheduleAll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const u of this.unsubscribe.splice(0)) u();
    await this.chain;
  }

  private stampFor(nodeId: string): string | undefined {
    const identity = this.opts.security.identity;
    if (identity.node(nodeId) === undefined) return undefined;
    return `${identity.trustFor(nodeId).issuedAt}|${identity.keyFor(nodeId).publicKey}`;
  }

  private stale(nodeId: string): boolean {
    if (this.stopped) return false;
    const stamp = this.stampFor(nodeId);
    return stamp !== undefined && this.delivered.get(nodeId) !== stamp;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private scheduleAll(): void {
    if (this.timer !== undefined || this.stopped) return;
    // Several changes in a row (a rotation's two steps, enrollments in a burst) make one round.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(async () => void (await this.pushAll())).catch(() => undefined);
    }, 20);
  }

  /** Pushes the current list to every online enrolled node that may hold an older one; the nodes reached. */
  async pushAll(): Promise<string[]> {
    const reached: string[] = [];
    for (const nodeId of this.opts.online()) {
      if (this.stopped) break;
      if (!this.stale(nodeId) || (await this.pushTo(nodeId))) reached.push(nodeId);
    }
    return reached;
  }

  /** One node: sends its trust list; true once the node holds it. */
  private async pushTo(nodeId: string): Promise<boolean> {
    const identity = this.opts.security.identity;
    const signed = identity.signedTrustFor(nodeId);
    if (signed === undefined) return false;
    try {
      const client = this.opts.agents.client(nodeId);
      await client.call("trust.update", { trust: signed.trust, mac: signed.mac }, { retries: 1 });
    } catch (e) {
      this.opts.logger.warn("could not update a node's trust list; retried when it is seen again", {
        nodeId,
        error: errorMessage(e),
      });
      return false;
    }
    this.delivered.set(nodeId, `${signed.trust.issuedAt}|${signed.signedWith}`);
    const current = identity.fleetKey.publicKey;
    if (signed.trust.fleetKeys.includes(current) && identity.node(nodeId)?.admitsFleetKey !== current) {
      await identity.markAdmits(nodeId, current);
    }
    await this.finishRotationIfDone();
    return true;
  }

  /** Enrolled nodes (not revoked) that do not admit the current fleet key yet. */
  pendingRotation(): string[] {
    const identity = this.opts.security.identity;
    if (identity.previousFleetKey === undefined) return [];
    const current = identity.fleetKey.publicKey;
    return Object.entries(identity.nodes())
      .filter(([, n]) => n.revokedAt === undefined && n.admitsFleetKey !== current)
      .map(([id]) => id);
  }

  private async finishRotationIfDone(): Promise<void> {
    const identity = this.opts.security.identity;
    if (identity.previousFleetKey === undefined || this.pendingRotation().length > 0) return;
    await identity.finishRotation();
    this.opts.logger.info("fleet key rotation finished: the previous key is dropped everywhere", {
      fleetKey: keyFingerprint(identity.fleetKey.publicKey),
    });
  }

  /** Revokes a node and pushes the shorter list to every live node at once. */
  async revoke(nodeId: string): Promise<{ nodeId: string; revokedAt: number; updated: string[] }> {
    const record = await this.opts.security.identity.revoke(nodeId);
    this.opts.agents.prune();
    const updated = await this.enqueue(() => this.pushAll().then(() => undefined)).then(() =>
      this.opts.online().filter((id) => id !== nodeId && !this.stale(id)),
    );
    return { nodeId, revokedAt: record.revokedAt ?? Date.now(), updated };
  }

  /**
   * Rotates the fleet key: every live node gets [new, old] over the old key, then the driver talks with the
   * new key, and once every enrolled node admits it, [new] alone: the old key stops working everywhere.
   */
  async rotate(): Promise<RotationReport> {
    const identity = this.opts.security.identity;
    await identity.rotate();
    await this.enqueue(async () => {
      await this.pushAll();
      // A second round delivers [new] alone when the first finished the rotation.
      await this.pushAll();
    });
    const pending = this.pendingRotation();
    const fleetKey = identity.fleetKey.publicKey;
    const reached = Object.entries(identity.nodes())
      .filter(([, n]) => n.revokedAt === undefined && n.admitsFleetKey === fleetKey)
      .map(([id]) => id);
    return { fleetKey, reached, pending, finished: identity.previousFleetKey === undefined };
  }
}
