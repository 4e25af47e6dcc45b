import {
  IotFogError,
  errorMessage,
  isIotFogError,
  planDeployment,
  type BackoffOptions,
  type ClusterSnapshot,
  type Logger,
  type PlacementDecision,
  type PlacementSuccess,
  type ServiceSpec,
} from "@openiotfog/shared";
import { DeclaredState, MemoryDeclaredStateStore } from "./declared";
import type { AgentDirectory, NodeDirectory } from "./directories";
import type { EventLog } from "./events";
import type { ImagePlatforms } from "./image-platforms";
import { replicaLogs, type LogLine, type LogOptions } from "./logs";
import { explainWorkload, fleetSnapshot, whatIfLoss } from "./explain";
import { applyObservation, observeFleet, type Observation } from "./observed";
import { Reconciler } from "./reconciler";
import { removeReplicas, undeclareRemoved } from "./removal";
import { describeProgress, fromDeclared, plannedRecord, toDeclared, type PlannedStep } from "./records";
import { ReplicaStarter, type NetworksFor } from "./starter";
import type {
  DeployProgress,
  DeploymentRecord,
  ExplainResult,
  ReplicaRecord,
  WhatIf,
  WhatIfResult,
  WorkloadRequest,
} from "./types";
import { resolveWorkload, type ParsedWorkload } from "./workload";

export type { AgentDirectory, NodeDirectory } from "./directories";
export { describeProgress } from "./records";
export type { LogLine, LogOptions } from "./logs";

/**
 * A reconcile pass waits this long for each agent's list: a node cut off silently must not hold up the pass that
 * its loss starts (a node that does not answer in time is only waited for, never replaced on that alone).
 */
const RECONCILE_LIST_TIMEOUT_MS = 1500;

export interface OrchestratorOptions {
  fleet: NodeDirectory;
  agents: AgentDirectory;
  events: EventLog;
  logger: Logger;
  /** What the operator declared, kept across restarts; default: in memory only. */
  declared?: DeclaredState;
  requestTimeoutMs: number;
  deployTimeoutMs: number;
  imageTransferTimeoutMs: number;
  /** Where the images' platforms are learnt (placement keeps an image off nodes it was not built for). */
  images?: ImagePlatforms;
  /** How long a list of replica states from the agents stays fresh. */
  refreshTtlMs?: number;
  /** How often the reconciler compares declared with observed state (node events start a pass at once). */
  reconcileIntervalMs?: number;
  /** Backoff between attempts for a replica that cannot be placed or started. */
  retry?: BackoffOptions;
  /** After a start, how long a node not heard of yet is waited for rather than taken for lost (node expiry). */
  startupSettleMs?: number;
  now?: () => number;
  /** Told of every plan's decisions (the driver's metrics). */
  onPlan?: (replicas: ReadonlyArray<{ decision: PlacementDecision }>) => void;
}

/**
 * The deploy path without Open Baton: snapshot of the fleet → plan every replica with the shared planner (all
 * or nothing) → the deployment is declared (declared state, kept across restarts) → image on the chosen node
 * (ImageDistribution) → the agent deploys. Also removal and logs; the read-only questions (dry run, what-if) are
 * in explain.ts. Agents are the truth for what runs: records are refreshed from their lists (observed.ts), and
 * replicas found on agents that nothing here declared appear as `discovered` deployments.
 */
export class Orchestrator {
  private readonly deployments = new Map<string, DeploymentRecord>();
  private lastRefresh = 0;
  private refreshing: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly starter: ReplicaStarter;
  readonly declared: DeclaredState;
  /** Keeps what runs in line with what is declared (a component for the process's lifecycle). */
  readonly reconciler: Reconciler;

  constructor(private readonly opts: OrchestratorOptions) {
    this.now = opts.now ?? Date.now;
    this.starter = new ReplicaStarter({ ...opts, now: this.now });
    this.declared = opts.declared ?? new DeclaredState(new MemoryDeclaredStateStore(), opts.logger);
    // What was declared before a restart: known again at once, its states asked from the agents on refresh.
    for (const d of this.declared.deployments()) this.deployments.set(d.id, fromDeclared(d));
    this.reconciler = new Reconciler({
      ...opts,
      declared: this.declared,
      records: this.deployments,
      starter: this.starter,
      snapshot: () => this.snapshot(),
      observe: () => this.observe(RECONCILE_LIST_TIMEOUT_MS),
      intervalMs: opts.reconcileIntervalMs ?? 2000,
      now: this.now,
    });
  }

  /** Resolves a request into a name and validated services in dependency order. */
  resolve(req: WorkloadRequest): ParsedWorkload {
    return resolveWorkload(req);
  }

  /** The fleet as placement sees it: live free resources, and every replica recorded here as an allocation. */
  snapshot(): ClusterSnapshot {
    return {
      ...fleetSnapshot(this.opts.fleet, this.deployments.values()),
      images: this.opts.images?.known(),
    };
  }

  /** Asks the nodes for their images' platforms (those not asked lately), for the next placements. */
  async learnImages(): Promise<void> {
    await this.opts.images?.refresh();
  }

  /** Dry run of a request (explain.ts). */
  explain(req: WorkloadRequest, opts: { whatIf?: WhatIf; nMinusOne?: boolean } = {}): ExplainResult {
    return explainWorkload(this.resolve(req), this.snapshot(), opts);
  }

  /** N-1 check of what runs (explain.ts). */
  whatIf(whatIf: WhatIf): WhatIfResult {
    return whatIfLoss(whatIf, this.opts.fleet, this.deployments.values(), this.snapshot());
  }

  // ------------------------------------------------------------------------------------------------ deploy

  /**
   * Places every replica first (nothing starts when any replica cannot be placed: PLACEMENT_FAILED with the
   * explanations in `details.decisions`), declares the deployment, then copies images and starts replicas in
   * dependency order. A failure after that removes the replicas already started and the declaration, so a
   * deployment is all or nothing.
   */
  async deploy(
    req: WorkloadRequest,
    onProgress: (p: DeployProgress) => void = () => undefined,
    networksFor?: NetworksFor,
  ): Promise<DeploymentRecord> {
    const { name, services } = this.resolve(req);
    // What the agents run now counts: a deployment found there (e.g. after a restart) is not deployed twice.
    await this.refresh();
    await this.learnImages();
    if (this.deployments.has(name)) {
      throw new IotFogError(
        "CONFLICT",
        `deployment "${name}" already exists; remove it first (iotfog rm ${name})`,
      );
    }
    const plan = this.plan(name, services);
    const record = plannedRecord(name, services, plan, this.now());
    // Recorded before anything starts: pending replicas count as reservations for concurrent deploys.
    this.deployments.set(name, record);
    try {
      await this.declared.put(toDeclared(record, this.now()));
    } catch (e) {
      this.deployments.delete(name);
      throw e;
    }
    const where = record.replicas.map((r) => `${r.service}#${r.replica} → ${r.nodeId}`).join(", ");
    this.opts.events.publish({
      type: "deployment.started",
      deploymentId: name,
      message: `${name}: deploying ${where}`,
      data: {
        placements: record.replicas.map((r) => ({
          service: r.service,
          replica: r.replica,
          nodeId: r.nodeId,
        })),
      },
    });
    const progress = (p: DeployProgress): void => {
      onProgress(p);
      if (p.phase === "image" && p.action === "copy" && p.doneBytes !== p.totalBytes && p.doneBytes !== 0)
        return;
      this.opts.events.publish({
        type: "deployment.progress",
        deploymentId: name,
        nodeId: p.nodeId,
        message: `${name}: ${describeProgress(p)}`,
        data: { ...p },
      });
    };
    for (const p of plan) {
      progress({
        phase: "placed",
        service: p.spec.name,
        replica: p.replica,
        nodeId: p.decision.nodeId,
        score: p.decision.finalScore,
      });
    }
    try {
      for (const [i, p] of plan.entries()) {
        const r = record.replicas[i];
        if (r === undefined) continue;
        const started = await this.starter.start(
          {
            nodeId: r.nodeId,
            agentDeploymentId: r.agentDeploymentId,
            spec: p.spec,
            replica: p.replica,
            devices: p.decision.devices,
          },
          progress,
          networksFor,
        );
        r.state = started.state;
        r.containerName = started.containerName;
        if (started.devices.length > 0) r.devices = started.devices;
      }
    } catch (e) {
      await this.rollback(record);
      this.deployments.delete(name);
      await this.declared.delete(name).catch(() => undefined);
      const error = errorMessage(e);
      this.opts.events.publish({
        type: "deployment.failed",
        deploymentId: name,
        message: `${name}: failed: ${error}`,
      });
      throw isIotFogError(e) ? e : new IotFogError("RUNTIME_ERROR", error, undefined, { cause: e });
    }
    record.status = "running";
    this.opts.events.publish({
      type: "deployment.deployed",
      deploymentId: name,
      message: `${name}: running (${where})`,
    });
    return structuredClone(record);
  }

  private plan(name: string, services: ServiceSpec[]): PlannedStep[] {
    const plan = planDeployment(services, this.snapshot(), { deploymentId: name, explain: "full" });
    this.opts.onPlan?.(plan.replicas);
    if (!plan.ok) {
      this.opts.events.publish({
        type: "deployment.failed",
        deploymentId: name,
        message: `${name}: cannot place: ${plan.problems.join("; ")}`,
      });
      throw new IotFogError("PLACEMENT_FAILED", `cannot place ${plan.problems.join("; ")}`, {
        name,
        decisions: plan.replicas,
      });
    }
    const byName = new Map(services.map((s) => [s.name, s]));
    return plan.replicas.map((r) => ({
      spec: byName.get(r.service) as ServiceSpec,
      replica: r.replica,
      decision: r.decision as PlacementSuccess,
    }));
  }

  private async rollback(record: DeploymentRecord): Promise<void> {
    const started = record.replicas.filter((r) => r.state !== "pending");
    const { failures } = await removeReplicas(this.opts.agents, started);
    if (failures.length > 0)
      this.opts.logger.warn("rollback could not remove every replica", { deployment: record.id, failures });
  }

  // ------------------------------------------------------------------------------------------------ remove

  /** Removes every replica; replicas on unreachable nodes stay recorded and the call fails naming them. */
  async remove(id: string): Promise<DeploymentRecord> {
    const record = this.deployments.get(id);
    if (record === undefined) throw new IotFogError("NOT_FOUND", `deployment "${id}" does not exist`);
    if (record.status === "deploying")
      throw new IotFogError("CONFLICT", `deployment "${id}" is still being deployed`);
    const previous = record.status;
    record.status = "removing";
    const outcome = await removeReplicas(this.opts.agents, record.replicas);
    await undeclareRemoved(this.declared, id, outcome, this.now());
    if (outcome.failures.length > 0) {
      record.replicas = outcome.kept;
      record.status = previous === "removing" ? "degraded" : previous;
      record.error = `not removed: ${outcome.failures.join("; ")}`;
      throw new IotFogError("UNAVAILABLE", `deployment "${id}": ${record.error}`);
    }
    this.deployments.delete(id);
    this.opts.events.publish({ type: "deployment.removed", deploymentId: id, message: `${id}: removed` });
    return {
      ...structuredClone(record),
      replicas: record.replicas.map((r) => ({ ...r, state: "removing" })),
    };
  }

  /**
   * Drops a deployment's declaration without touching its containers: the caller removes them itself (the VIM
   * driver's delete with its own grace and owed removals) and then `remove`s the record. Until then the
   * reconciler leaves the deployment alone.
   */
  async undeclare(id: string): Promise<void> {
    const record = this.deployments.get(id);
    if (record !== undefined && record.status !== "deploying") record.status = "removing";
    await this.declared.delete(id);
  }

  // ------------------------------------------------------------------------------------------------ list

  /** Every deployment, replica states refreshed from the agents (at most every refreshTtlMs). */
  async list(): Promise<DeploymentRecord[]> {
    await this.refresh();
    return [...this.deployments.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((d) => this.reconciler.annotate(d));
  }

  async get(id: string): Promise<DeploymentRecord> {
    await this.refresh();
    const d = this.deployments.get(id);
    if (d === undefined) throw new IotFogError("NOT_FOUND", `deployment "${id}" does not exist`);
    return this.reconciler.annotate(d);
  }

  /** Replicas recorded on one node. */
  replicasOn(nodeId: string): Array<ReplicaRecord & { deploymentId: string }> {
    const out: Array<ReplicaRecord & { deploymentId: string }> = [];
    for (const d of this.deployments.values()) {
      for (const r of d.replicas)
        if (r.nodeId === nodeId) out.push({ ...structuredClone(r), deploymentId: d.id });
    }
    return out;
  }

  /** Asks every online agent what it runs, and reconciles the records with the answers. */
  async refresh(force = false): Promise<void> {
    if (!force && this.now() - this.lastRefresh < (this.opts.refreshTtlMs ?? 1000)) return;
    this.refreshing ??= this.doRefresh().finally(() => {
      this.lastRefresh = this.now();
      this.refreshing = undefined;
    });
    await this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    await this.observe(3000);
  }

  /** Asks the agents what runs now (each within `timeoutMs`) and brings the records up to date. */
  private async observe(timeoutMs: number): Promise<Observation> {
    const observation = await observeFleet(this.opts.fleet, this.opts.agents, {
      timeoutMs: Math.min(this.opts.requestTimeoutMs, timeoutMs),
      logger: this.opts.logger,
    });
    applyObservation(this.deployments, observation, this.now());
    this.lastRefresh = this.now();
    return observation;
  }

  // ------------------------------------------------------------------------------------------------ logs

  /** The last `tail` lines of every replica of a deployment (or of one service / replica). */
  async logs(id: string, opts: LogOptions = {}): Promise<LogLine[]> {
    const d = this.deployments.get(id);
    if (d === undefined) throw new IotFogError("NOT_FOUND", `deployment "${id}" does not exist`);
    return replicaLogs(this.opts.agents, d, opts);
  }
}
