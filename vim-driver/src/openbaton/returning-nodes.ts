import {
  Backoff,
  errorMessage,
  isIotFogError,
  serverExtId,
  sleep,
  type AgentClient,
  type BackoffOptions,
  type Component,
  type Logger,
} from "@openiotfog/shared";
import type { LiveFleet } from "./fleet/live-fleet";
import {
  findSupersededCopies,
  type PendingRemovals,
  type PlacedCopy,
  type SupersedeRules,
} from "./pending-removals";

export interface ReturningNodesOptions {
  fleet: Pick<LiveFleet, "onNodeLive" | "live" | "liveNode">;
  /** The agent client of a live node (AgentPool.client: throws when the node is not live). */
  agent(nodeId: string): Pick<AgentClient, "call">;
  pending: PendingRemovals;
  isOurs: SupersedeRules["isOurs"];
  /** Agent deployment ids this driver process launched (read after the nodes' lists). */
  ownLaunches(): Promise<Set<string>>;
  /** Forgets the driver's record of a deployment whose container is gone. */
  forget(deploymentId: string): Promise<void>;
  logger: Logger;
  /** Tries per agent call: the command endpoint may need a moment after presence is back. */
  attempts?: number;
  backoff?: BackoffOptions;
  callTimeoutMs?: number;
}

type Removal = { removed: boolean } | undefined;

/**
 * Acts when a node becomes live (back from offline, or first seen after a driver start): removes the
 * deployments owed to it (tombstones), then sweeps the live fleet for copies of VNFCs that were placed again
 * elsewhere (findSupersededCopies). Every removal is logged; a tombstone is dropped once the agent answered.
 */
export class ReturningNodes implements Component {
  readonly name = "vim-returning-nodes";
  private unsubscribe: (() => void) | undefined;
  private abort = new AbortController();
  /** Per node: the running settle pass, and whether another one was asked for meanwhile. */
  private readonly settling = new Map<string, { again: boolean }>();
  private sweeping: { again: boolean } | undefined;
  private readonly work = new Set<Promise<void>>();

  constructor(private readonly opts: ReturningNodesOptions) {}

  async start(): Promise<void> {
    this.abort = new AbortController();
    this.unsubscribe = this.opts.fleet.onNodeLive((node) => {
      this.settle(node.nodeId);
      this.sweep();
    });
    // Nodes whose retained presence arrived before this started: sweep them as well.
    if (this.opts.fleet.live().length > 0) this.sweep();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.abort.abort();
    await Promise.allSettled([...this.work]);
  }

  /** Removes what is owed to a node now, if it is live (a removal just failed on a node that did not answer). */
  retry(nodeId: string): void {
    if (this.unsubscribe !== undefined && this.opts.fleet.liveNode(nodeId) !== undefined) this.settle(nodeId);
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((e: unknown) => {
      this.opts.logger.warn("clean-up on a returning node failed", { error: errorMessage(e) });
    });
    this.work.add(tracked);
    void tracked.finally(() => this.work.delete(tracked));
  }

  /** One pass per node at a time; a request during a pass runs one more pass after it. */
  private settle(nodeId: string): void {
    const running = this.settling.get(nodeId);
    if (running !== undefined) {
      running.again = true;
      return;
    }
    const state = { again: true };
    this.settling.set(nodeId, state);
    this.track(
      (async () => {
        try {
          while (state.again && !this.abort.signal.aborted) {
            state.again = false;
            await this.removeOwed(nodeId);
          }
        } finally {
          this.settling.delete(nodeId);
        }
      })(),
    );
  }

  private async removeOwed(nodeId: string): Promise<void> {
    await Promise.all(
      this.opts.pending.forNode(nodeId).map(async (t) => {
        const outcome = await this.remove(nodeId, t.deploymentId);
        if (outcome === undefined) return; // kept: the next time the node is live
        this.opts.pending.drop(nodeId, t.deploymentId);
        this.opts.logger.info("removed a deployment left on a node while it was offline", {
          nodeId,
          deploymentId: t.deploymentId,
          removed: outcome.removed,
          owedSince: new Date(t.since).toISOString(),
          reason: t.reason,
        });
        await this.opts.forget(t.deploymentId);
      }),
    );
  }

  private sweep(): void {
    if (this.sweeping !== undefined) {
      this.sweeping.again = true;
      return;
    }
    const state = { again: true };
    this.sweeping = state;
    this.track(
      (async () => {
        try {
          while (state.again && !this.abort.signal.aborted) {
            state.again = false;
            await this.removeSuperseded();
          }
        } finally {
          this.sweeping = undefined;
        }
      })(),
    );
  }

  private async removeSuperseded(): Promise<void> {
    const nodes = this.opts.fleet.live();
    const lists = await Promise.all(
      nodes.map((n) => this.withRetry(n.nodeId, "list", (c) => c.call("list", {}, this.callOptions()))),
    );
    const copies: PlacedCopy[] = [];
    lists.forEach((list, i) => {
      const nodeId = (nodes[i] as { nodeId: string }).nodeId;
      for (const d of list?.deployments ?? []) copies.push({ ...d, nodeId });
    });
    if (!copies.some((c) => this.opts.isOurs(c.deploymentId))) return;
    // After the lists: a launch is recorded before its container exists, so every container seen is covered.
    const own = await this.opts.ownLaunches();
    const { superseded, skipped } = findSupersededCopies(copies, {
      isOurs: this.opts.isOurs,
      launchedHere: (id) => own.has(id),
      pending: (nodeId, id) => this.opts.pending.has(nodeId, id),
    });
    for (const s of skipped) this.opts.logger.debug("several copies of a service left alone", s);
    for (const { stale, newer } of superseded) {
      const outcome = await this.remove(stale.nodeId, stale.deploymentId);
      if (outcome === undefined) continue;
      this.opts.logger.info("removed a superseded copy of a VNFC", {
        nodeId: stale.nodeId,
        deploymentId: stale.deploymentId,
        service: stale.service,
        createdAt: new Date(stale.createdAt).toISOString(),
        newer: serverExtId(newer.nodeId, newer.deploymentId),
        removed: outcome.removed,
      });
      await this.opts.forget(stale.deploymentId);
    }
  }

  private callOptions(): { retries: number; timeoutMs?: number } {
    return this.opts.callTimeoutMs === undefined
      ? { retries: 0 }
      : { retries: 0, timeoutMs: this.opts.callTimeoutMs };
  }

  /** The agent's answer to remove; undefined when the node went away or never answered. */
  private async remove(nodeId: string, deploymentId: string): Promise<Removal> {
    return this.withRetry(nodeId, `remove ${deploymentId}`, async (c) => {
      try {
        const r = await c.call("remove", { deploymentId, timeoutSeconds: 2 }, this.callOptions());
        return { removed: r.removed };
      } catch (e) {
        // The agent answered that it has no such deployment: nothing is left to remove.
        if (isIotFogError(e) && e.code === "NOT_FOUND") return { removed: false };
        throw e;
      }
    });
  }

  /** Runs `fn` on a live node with backoff; undefined when the node is gone, stopped, or never answered. */
  private async withRetry<T>(
    nodeId: string,
    what: string,
    fn: (c: Pick<AgentClient, "call">) => Promise<T>,
  ): Promise<T | undefined> {
    const attempts = this.opts.attempts ?? 5;
    const backoff = new Backoff(this.opts.backoff ?? { initialMs: 250, maxMs: 4000 });
    let problem = "";
    for (let attempt = 1; attempt <= attempts && !this.abort.signal.aborted; attempt++) {
      let client: Pick<AgentClient, "call">;
      try {
        client = this.opts.agent(nodeId);
      } catch (e) {
        this.opts.logger.info("node went away during clean-up", { nodeId, what, error: errorMessage(e) });
        return undefined;
      }
      try {
        return await fn(client);
      } catch (e) {
        problem = errorMessage(e);
      }
      if (attempt < attempts) await sleep(backoff.next(), this.abort.signal);
    }
    if (!this.abort.signal.aborted)
      this.opts.logger.warn("clean-up on a returning node got no answer", {
        nodeId,
        what,
        attempts,
        problem,
      });
    return undefined;
  }
}
