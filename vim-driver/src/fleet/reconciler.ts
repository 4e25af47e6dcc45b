import {
  errorMessage,
  place,
  type BackoffOptions,
  type ClusterSnapshot,
  type Component,
  type Logger,
  type PlacementSuccess,
} from "@openiotfog/shared";
import { HISTORY_LIMIT, type DeclaredState } from "./declared";
import type { AgentDirectory, NodeDirectory } from "./directories";
import type { EventLog } from "./events";
import type { Observation } from "./observed";
import {
  planReconcile,
  replicaKey,
  seconds,
  withoutReplica,
  type ReconcileAction,
  type ReplicaRef,
} from "./reconcile-plan";
import { ReplicaNotes, type ReplicaNote } from "./reconcile-notes";
import type { NetworksFor, ReplicaStarter } from "./starter";
import type { DeploymentRecord, ReplicaRecord } from "./types";

export interface ReconcilerOptions {
  declared: DeclaredState;
  /** The orchestrator's records (declared merged with observed): replicas are updated in place. */
  records: Map<string, DeploymentRecord>;
  fleet: NodeDirectory;
  agents: AgentDirectory;
  starter: ReplicaStarter;
  events: EventLog;
  logger: Logger;
  /** The fleet as placement sees it (every recorded replica an allocation). */
  snapshot: () => ClusterSnapshot;
  /** Asks the agents what runs (and brings the records up to date). */
  observe: () => Promise<Observation>;
  /** A pass at least this often; node online/offline events start one at once. */
  intervalMs: number;
  /** Between attempts for a replica that cannot be placed or started. */
  retry?: BackoffOptions;
  /**
   * After the reconciler starts, how long a node the fleet view has not heard of yet is waited for rather than
   * taken for lost (the fleet view's node expiry: every live node announces itself within it).
   */
  startupSettleMs?: number;
  now?: () => number;
}

/**
 * The one loop that closes the gap between declared and observed state (Kubernetes controllers, Nomad's
 * evaluations): a replica whose node is lost is placed again (`on_node_loss: replace`, after `grace`) or waited
 * for (`keep`); one whose container died is restarted, one its agent lost is deployed again; copies that nothing
 * declares any more on a node that answers are removed (a returning node's superseded replicas, removals owed
 * to it). When nothing fits, the replica is retried with backoff and the explanation is kept. Every action is an
 * event on the fleet's event log. The decisions are in reconcile-plan.ts (pure); this file acts on them.
 */
export class Reconciler implements Component {
  readonly name = "reconciler";
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private contactTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private readonly lostSince = new Map<string, number>();
  private startedAt: number | undefined;
  private readonly notes: ReplicaNotes;
  private networksFor: NetworksFor | undefined;

  constructor(private readonly opts: ReconcilerOptions) {
    this.now = opts.now ?? Date.now;
    this.notes = new ReplicaNotes({ ...opts, now: this.now });
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.startedAt = this.now();
    this.timer = setInterval(() => this.trigger(), this.opts.intervalMs);
    this.contactTimer = setInterval(() => this.contact(), this.opts.intervalMs);
    this.unsubscribe = this.opts.events.subscribe((e) => {
      if (e.type === "node.offline" || e.type === "node.online") this.trigger();
    });
    this.trigger();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.contactTimer) clearInterval(this.contactTimer);
    this.timer = this.contactTimer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.running;
  }

  /**
   * Networks (with aliases) a replica started by the reconciler is attached to on its new node; default: its
   * spec's. The Open Baton side sets it: a VNFC's virtual-link networks are per node.
   */
  useNetworks(networksFor: NetworksFor): void {
    this.networksFor = networksFor;
  }

  /**
   * Word from the fleet for the agents' fencing (docs/self-healing.md, "Fencing"): a `ping` to every node the
   * fleet view shows online, every interval and apart from the passes, so that a pass busy with a long image
   * copy does not leave the agents silent long enough to fence themselves. Answers are not needed.
   */
  private contact(): void {
    for (const n of this.opts.fleet.nodes()) {
      if (!n.online) continue;
      try {
        void this.opts.agents
          .client(n.nodeId)
          .call("ping", {}, { timeoutMs: this.opts.intervalMs, retries: 0 })
          .catch(() => undefined);
      } catch {
        // No client for it (no endpoint announced yet): the next interval tries again.
      }
    }
  }

  /** Starts a pass now, or one more right after the running one. */
  trigger(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (e) {
          this.opts.logger.warn("reconcile pass failed", { error: errorMessage(e) });
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
  }

  /** Why a replica is not where it should be; undefined when it is. */
  noteOf(deploymentId: string, service: string, replica: number): ReplicaNote | undefined {
    return this.notes.of(deploymentId, service, replica);
  }

  /** A copy of a record with the note on every replica that is not where it should be (pending ones so marked). */
  annotate(d: DeploymentRecord): DeploymentRecord {
    const out = structuredClone(d);
    for (const r of out.replicas) {
      const note = this.noteOf(d.id, r.service, r.replica);
      if (note === undefined) continue;
      r.note = note.note;
      if (note.pending) r.state = "pending";
    }
    return out;
  }

  /** One comparison of declared with observed state, and the actions it calls for. */
  async pass(): Promise<void> {
    const observation = await this.opts.observe();
    const now = this.now();
    for (const n of this.opts.fleet.nodes()) {
      if (n.online) this.lostSince.delete(n.nodeId);
      else if (!this.lostSince.has(n.nodeId)) this.lostSince.set(n.nodeId, now);
    }
    const actions = planReconcile({
      declared: this.opts.declared.deployments(),
      tombstones: this.opts.declared.tombstones(),
      observation,
      online: (id) => this.opts.fleet.node(id)?.online === true,
      settled: (id) =>
        this.opts.fleet.node(id) !== undefined ||
        this.startedAt === undefined ||
        now - this.startedAt >= (this.opts.startupSettleMs ?? 10000),
      lostSince: (id) => this.lostSince.get(id) ?? now,
      busy: (id) => {
        const status = this.opts.records.get(id)?.status;
        return status === "deploying" || status === "removing";
      },
      now,
    });
    const touched = new Set<string>();
    for (const a of actions) {
      if (a.kind === "remove") {
        await this.removeCopy(a);
        continue;
      }
      const key = replicaKey(a.deploymentId, a.spec.name, a.declared.replica);
      touched.add(key);
      if (a.kind === "wait") {
        this.notes.waiting(a, a.note);
        continue;
      }
      if (!this.notes.due(key, now)) continue;
      if (a.kind === "replace") await this.replace(a);
      else if (a.kind === "restart") await this.restart(a);
      else await this.recreate(a);
    }
    // Replicas that needed nothing this pass are where they should be.
    this.notes.keepOnly(touched);
  }

  // ---------------------------------------------------------------------------------------------- actions

  private async replace(a: ReplicaRef & { lostForMs: number }): Promise<void> {
    const from = a.declared.nodeId;
    const decision = this.placeReplica(a, { exclude: [from] });
    if (!decision.ok) {
      this.notes.failed(a, `node ${from} lost; cannot place it elsewhere: ${decision.message}`);
      return;
    }
    const to = decision.nodeId;
    const reason = `node ${from} lost ${seconds(a.lostForMs)} ago`;
    // Declared first: a driver restart from here on deploys it on the new node and still owes the old copy.
    await this.redeclare(a, decision, reason, from);
    await this.opts.declared.addTombstone({
      nodeId: from,
      agentDeploymentId: a.declared.agentDeploymentId,
      since: this.now(),
      reason: `replaced on ${to}`,
    });
    this.opts.events.publish({
      type: "replica.replaced",
      deploymentId: a.deploymentId,
      nodeId: to,
      message: `${a.deploymentId}: ${a.spec.name}#${a.declared.replica} placed again on ${to} (${reason})`,
      data: { service: a.spec.name, replica: a.declared.replica, fromNodeId: from, toNodeId: to },
    });
    await this.startOn(a, decision, "replaced");
  }

  private async recreate(a: ReplicaRef): Promise<void> {
    const node = a.declared.nodeId;
    const others = this.opts.fleet.nodes().filter((n) => n.nodeId !== node);
    const decision = this.placeReplica(a, { exclude: others.map((n) => n.nodeId) });
    if (!decision.ok) {
      this.notes.failed(a, `node ${node} no longer runs it and cannot take it again: ${decision.message}`);
      return;
    }
    await this.redeclare(a, decision, "its node no longer ran it", undefined);
    await this.startOn(a, decision, "re-created");
  }

  private async restart(a: ReplicaRef & { state: string }): Promise<void> {
    const who = `${a.deploymentId}: ${a.spec.name}#${a.declared.replica}`;
    try {
      await this.opts.agents.client(a.declared.nodeId).call("start", {
        deploymentId: a.declared.agentDeploymentId,
      });
    } catch (e) {
      this.notes.failed(a, `restart on ${a.declared.nodeId} failed: ${errorMessage(e)}`);
      return;
    }
    this.notes.succeeded(a);
    this.opts.events.publish({
      type: "replica.restarted",
      deploymentId: a.deploymentId,
      nodeId: a.declared.nodeId,
      message: `${who} restarted on ${a.declared.nodeId} (it was ${a.state})`,
      data: { service: a.spec.name, replica: a.declared.replica, was: a.state },
    });
  }

  private async removeCopy(a: Extract<ReconcileAction, { kind: "remove" }>): Promise<void> {
    let removed: boolean;
    try {
      const res = await this.opts.agents
        .client(a.nodeId)
        .call("remove", { deploymentId: a.agentDeploymentId, timeoutSeconds: 2 }, { retries: 0 });
      removed = res.removed;
    } catch (e) {
      this.opts.logger.info("could not remove a copy nothing declares; trying again later", {
        nodeId: a.nodeId,
        deploymentId: a.agentDeploymentId,
        error: errorMessage(e),
      });
      return;
    }
    await this.opts.declared.removeTombstone(a.nodeId, a.agentDeploymentId);
    this.forgetRecorded(a.nodeId, a.agentDeploymentId);
    if (!removed) return;
    this.opts.events.publish({
      type: "replica.removed",
      nodeId: a.nodeId,
      message: `${a.nodeId}: removed ${a.agentDeploymentId} (${a.reason})`,
      data: { agentDeploymentId: a.agentDeploymentId, reason: a.reason },
    });
  }

  // ---------------------------------------------------------------------------------------------- helpers

  private placeReplica(a: ReplicaRef, opts: { exclude: string[] }) {
    const snapshot = withoutReplica(this.opts.snapshot(), a.deploymentId, a.spec.name, a.declared.replica);
    return place(
      { spec: a.spec, deploymentId: a.deploymentId, replica: a.declared.replica, excludeNodes: opts.exclude },
      snapshot,
      { explain: "summary" },
    );
  }

  /** Writes the replica's new placement (and its history) to the declared state and the record. */
  private async redeclare(
    a: ReplicaRef,
    decision: PlacementSuccess,
    reason: string,
    from: string | undefined,
  ): Promise<void> {
    const d = this.opts.declared.get(a.deploymentId);
    if (d === undefined) return;
    const at = this.now();
    const devices = decision.devices.map((x) => ({
      deviceId: x.device.id,
      hostPath: x.hostPath,
      containerPath: x.containerPath,
    }));
    const placement = {
      nodeId: decision.nodeId,
      devices,
      exclusiveDevices: decision.devices.filter((x) => x.exclusive).map((x) => x.device.id),
      sharedDevices: decision.devices.filter((x) => !x.exclusive).map((x) => x.device.id),
    };
    d.replicas = d.replicas.map((r) =>
      r.service === a.spec.name && r.replica === a.declared.replica
        ? { ...r, ...placement, placedAt: at }
        : r,
    );
    const who = { at, service: a.spec.name, replica: a.declared.replica };
    if (from !== undefined) d.history.push({ ...who, nodeId: from, action: "released", reason });
    d.history.push({
      ...who,
      nodeId: decision.nodeId,
      action: from === undefined ? "placed" : "replaced",
      reason,
    });
    d.history = d.history.slice(-HISTORY_LIMIT);
    await this.opts.declared.put(d);
    const record = this.recordOf(a);
    if (record !== undefined) Object.assign(record, placement, { state: "pending" });
  }

  private async startOn(a: ReplicaRef, decision: PlacementSuccess, how: string): Promise<void> {
    const record = this.recordOf(a);
    try {
      const info = await this.opts.starter.start(
        {
          nodeId: decision.nodeId,
          agentDeploymentId: a.declared.agentDeploymentId,
          spec: a.spec,
          replica: a.declared.replica,
          devices: decision.devices,
        },
        (p) => {
          if (p.phase === "image" && p.action === "copy" && p.doneBytes !== p.totalBytes && p.doneBytes !== 0)
            return;
          this.opts.events.publish({
            type: "deployment.progress",
            deploymentId: a.deploymentId,
            nodeId: p.nodeId,
            message: `${a.deploymentId}: ${a.spec.name}#${a.declared.replica} ${p.phase} on ${p.nodeId} (${how})`,
            data: { ...p },
          });
        },
        this.networksFor,
      );
      if (record !== undefined) {
        record.state = info.state;
        record.containerName = info.containerName;
      }
      this.notes.succeeded(a);
    } catch (e) {
      this.notes.failed(a, `start on ${decision.nodeId} failed: ${errorMessage(e)}`);
    }
  }

  private recordOf(a: ReplicaRef): ReplicaRecord | undefined {
    return this.opts.records
      .get(a.deploymentId)
      ?.replicas.find((r) => r.service === a.spec.name && r.replica === a.declared.replica);
  }

  /** A removed copy leaves the records; a record nothing declares any more goes when its last copy is gone. */
  private forgetRecorded(nodeId: string, agentDeploymentId: string): void {
    for (const [id, d] of this.opts.records) {
      if (this.opts.declared.has(id) || d.status === "deploying" || d.status === "removing") continue;
      d.replicas = d.replicas.filter(
        (r) => !(r.nodeId === nodeId && r.agentDeploymentId === agentDeploymentId),
      );
      if (d.replicas.length === 0 && d.origin === "api") this.opts.records.delete(id);
    }
  }
}
