import {
  IotFogError,
  applyScenario,
  errorMessage,
  isIotFogError,
  orderByDependencies,
  parseBlueprint,
  parseWith,
  planDeployment,
  serviceSpecSchema,
  whatIf as whatIfReport,
  type AgentClient,
  type Allocation,
  type ClusterSnapshot,
  type Logger,
  type NetworkAttachment,
  type NodeState,
  type PlacementSuccess,
  type ServiceSpec,
  type WhatIfScenario,
} from "@openiotfog/shared";
import type { EventLog } from "./events";
import {
  replicaStates,
  type DeployProgress,
  type DeploymentRecord,
  type ExplainResult,
  type FleetNode,
  type ReplicaRecord,
  type ReplicaState,
  type WhatIf,
  type WhatIfResult,
  type WorkloadRequest,
} from "./types";

/** What the orchestrator needs of the fleet view. */
export interface NodeDirectory {
  nodes(): FleetNode[];
  node(nodeId: string): FleetNode | undefined;
}

/** What the orchestrator needs of the agent pool. */
export interface AgentDirectory {
  client(nodeId: string): AgentClient;
}

/** A resolved request: the deployment id and its services in dependency order. */
export interface ParsedWorkload {
  name: string;
  services: ServiceSpec[];
}

export interface OrchestratorOptions {
  fleet: NodeDirectory;
  agents: AgentDirectory;
  events: EventLog;
  logger: Logger;
  requestTimeoutMs: number;
  deployTimeoutMs: number;
  imageTransferTimeoutMs: number;
  /** How long a list of replica states from the agents stays fresh. */
  refreshTtlMs?: number;
  now?: () => number;
}

export interface LogLine {
  service: string;
  replica: number;
  nodeId: string;
  stream: "stdout" | "stderr";
  line: string;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Agent-side ids of replicas deployed here: `<deployment>.<service>.<replica>`. */
const AGENT_ID = /^([a-z0-9][a-z0-9-]*)\.([a-z0-9][a-z0-9-]*)\.(\d+)$/;

export function agentDeploymentId(deploymentId: string, service: string, replica: number): string {
  return `${deploymentId}.${service}.${replica}`;
}

interface Step {
  spec: ServiceSpec;
  replica: number;
  decision: PlacementSuccess;
}

/**
 * The deploy path without Open Baton: snapshot of the fleet → plan every replica with the shared planner (all
 * or nothing) → copy the image to the chosen node when it lacks it → the agent deploys → the deployment is
 * recorded. Also removal, logs, a dry run that explains every decision, and what-if checks (lose a node or a
 * device). Agents are the truth for what runs: records are refreshed from their lists, and replicas found on
 * agents that this driver did not start (after a restart) appear as `discovered` deployments.
 */
export class Orchestrator {
  private readonly deployments = new Map<string, DeploymentRecord>();
  private lastRefresh = 0;
  private refreshing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: OrchestratorOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Resolves a request into a name and validated services in dependency order. */
  resolve(req: WorkloadRequest): ParsedWorkload {
    let parsed: ParsedWorkload;
    if (req.blueprint !== undefined) {
      parsed = parseBlueprint(req.blueprint, "blueprint");
    } else if (req.services !== undefined) {
      const services = req.services.map((s, i) =>
        parseWith(serviceSpecSchema, s, `services[${i}]`, "BAD_REQUEST"),
      );
      parsed = { name: req.name ?? services[0]?.name ?? "", services: orderByDependencies(services) };
    } else {
      throw new IotFogError("BAD_REQUEST", `field "blueprint": give a blueprint (YAML text) or "services"`);
    }
    const name = req.name ?? parsed.name;
    if (!NAME.test(name)) {
      throw new IotFogError(
        "BAD_REQUEST",
        `field "name": "${name}" must be lower-case letters, digits and '-', at most 63 characters`,
      );
    }
    if (parsed.services.length === 0) {
      throw new IotFogError("BAD_REQUEST", `field "services": needs at least one service`);
    }
    const seen = new Set<string>();
    for (const s of parsed.services) {
      if (seen.has(s.name)) {
        throw new IotFogError("BAD_REQUEST", `field "services": service "${s.name}" appears twice`);
      }
      seen.add(s.name);
    }
    return { name, services: parsed.services };
  }

  /** The fleet as placement sees it: live free resources, and every replica recorded here as an allocation. */
  snapshot(): ClusterSnapshot {
    const nodes: NodeState[] = [];
    for (const n of this.opts.fleet.nodes()) {
      if (n.capabilities === undefined) continue;
      const caps = structuredClone(n.capabilities);
      if (n.live !== undefined) {
        caps.resources.memory.freeBytes = Math.round(n.live.memory.freeBytes);
        caps.resources.disk.freeBytes = Math.round(n.live.disk.freeBytes);
      }
      const allocations: Allocation[] = [];
      for (const d of this.deployments.values()) {
        for (const r of d.replicas) if (r.nodeId === n.nodeId) allocations.push(toAllocation(d.id, r));
      }
      nodes.push({ capabilities: caps, online: n.online, allocations });
    }
    return { nodes };
  }

  /**
   * Dry run: where each replica would go (every score) or every failed predicate on every node; with `whatIf`
   * also the plan after those losses, with `nMinusOne` after losing each node and device the plan uses.
   */
  explain(req: WorkloadRequest, opts: { whatIf?: WhatIf; nMinusOne?: boolean } = {}): ExplainResult {
    const { name, services } = this.resolve(req);
    const scenarios: WhatIfScenario[] | undefined =
      opts.whatIf !== undefined ? [toScenario(opts.whatIf)] : opts.nMinusOne === true ? undefined : [];
    const report = whatIfReport(services, this.snapshot(), scenarios, {
      deploymentId: name,
      explain: "full",
    });
    const result: ExplainResult = {
      name,
      feasible: report.baseline.ok,
      decisions: report.baseline.replicas,
      problems: report.baseline.problems,
    };
    if (opts.whatIf !== undefined || opts.nMinusOne === true) {
      result.scenarios = report.scenarios.map((o) => ({
        name: o.name,
        lostNodes: o.scenario.loseNodes ?? [],
        lostDevices: (o.scenario.loseDevices ?? []).map((d) => ({
          nodeId: d.nodeId ?? "",
          deviceId: d.deviceId,
        })),
        feasible: o.plan.ok,
        decisions: o.plan.replicas,
        problems: o.plan.problems,
      }));
    }
    return result;
  }

  /**
   * N-1 check of what runs: if these nodes or devices were lost, could every deployment with a replica on them
   * (or holding them) be placed again? Discovered deployments (no spec known here) are reported as such.
   */
  whatIf(whatIf: WhatIf): WhatIfResult {
    for (const id of whatIf.lostNodes) {
      if (this.opts.fleet.node(id) === undefined) {
        throw new IotFogError("NOT_FOUND", `field "lostNodes": node "${id}" is not known to the fleet`);
      }
    }
    const lostNodes = new Set(whatIf.lostNodes);
    const hit = (r: ReplicaRecord): boolean =>
      lostNodes.has(r.nodeId) ||
      whatIf.lostDevices.some(
        (d) => d.nodeId === r.nodeId && r.devices.some((x) => x.deviceId === d.deviceId),
      );
    const afterLoss = applyScenario(this.snapshot(), toScenario(whatIf));
    const affected: WhatIfResult["affected"] = [];
    const problems: string[] = [];
    for (const d of this.deployments.values()) {
      const replicas = d.replicas.filter(hit);
      if (replicas.length === 0) continue;
      const moved = replicas.map((r) => ({ service: r.service, replica: r.replica, fromNodeId: r.nodeId }));
      if (d.specs === undefined) {
        const problem = "its services' specs are unknown to this driver (deployed before it started)";
        affected.push({ deploymentId: d.id, replicas: moved, feasible: false, problem });
        problems.push(`${d.id}: ${problem}`);
        continue;
      }
      const plan = planDeployment(d.specs, afterLoss, { deploymentId: d.id, explain: "full" });
      affected.push({ deploymentId: d.id, replicas: moved, feasible: plan.ok, decisions: plan.replicas });
      problems.push(...plan.problems.map((p) => `${d.id}: ${p}`));
    }
    return { whatIf, ok: problems.length === 0, affected, problems };
  }

  // ------------------------------------------------------------------------------------------------ deploy

  /**
   * Places every replica first (nothing starts when any replica cannot be placed: PLACEMENT_FAILED with the
   * explanations in `details.decisions`), then copies images and starts replicas in dependency order. A
   * failure after that removes the replicas already started, so a deployment is all or nothing.
   */
  async deploy(
    req: WorkloadRequest,
    onProgress: (p: DeployProgress) => void = () => undefined,
    /** Networks (with aliases) to attach a replica to on its node, made ready there; default `spec.networks`. */
    networksFor?: (nodeId: string, spec: ServiceSpec) => Promise<NetworkAttachment[]>,
  ): Promise<DeploymentRecord> {
    const { name, services } = this.resolve(req);
    // What the agents run now counts: a deployment found there (e.g. after a restart) is not deployed twice.
    await this.refresh();
    if (this.deployments.has(name)) {
      throw new IotFogError(
        "CONFLICT",
        `deployment "${name}" already exists; remove it first (iotfog rm ${name})`,
      );
    }
    const plan = this.plan(name, services);
    const record: DeploymentRecord = {
      id: name,
      createdAt: this.now(),
      status: "deploying",
      origin: "api",
      services: services.map((s) => ({ name: s.name, image: s.image, replicas: s.replicas })),
      specs: services,
      replicas: plan.map((p) => ({
        service: p.spec.name,
        replica: p.replica,
        nodeId: p.decision.nodeId,
        agentDeploymentId: agentDeploymentId(name, p.spec.name, p.replica),
        image: p.spec.image,
        state: "pending",
        devices: p.decision.devices.map((a) => ({
          deviceId: a.device.id,
          hostPath: a.hostPath,
          containerPath: a.containerPath,
        })),
        resources: p.spec.resources,
        exclusiveDevices: p.decision.devices.filter((a) => a.exclusive).map((a) => a.device.id),
        sharedDevices: p.decision.devices.filter((a) => !a.exclusive).map((a) => a.device.id),
      })),
    };
    // Recorded before anything starts: pending replicas count as reservations for concurrent deploys.
    this.deployments.set(name, record);
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
        await this.ensureImage(p, progress);
        const networks = await networksFor?.(r.nodeId, p.spec);
        progress({ phase: "starting", service: r.service, replica: r.replica, nodeId: r.nodeId });
        const result = await this.opts.agents.client(r.nodeId).call(
          "deploy",
          {
            deploymentId: r.agentDeploymentId,
            spec: p.spec,
            replica: p.replica,
            devices: p.decision.devices,
            ...(networks === undefined ? {} : { networks }),
          },
          { timeoutMs: this.opts.deployTimeoutMs, retries: 0 },
        );
        r.state = result.deployment.state;
        r.containerName = result.deployment.containerName;
        if (result.deployment.devices.length > 0) r.devices = result.deployment.devices;
        progress({
          phase: "started",
          service: r.service,
          replica: r.replica,
          nodeId: r.nodeId,
          containerName: result.deployment.containerName,
          state: result.deployment.state,
        });
      }
    } catch (e) {
      await this.rollback(record);
      this.deployments.delete(name);
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

  private plan(name: string, services: ServiceSpec[]): Step[] {
    const plan = planDeployment(services, this.snapshot(), { deploymentId: name, explain: "full" });
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

  private async ensureImage(p: Step, progress: (p: DeployProgress) => void): Promise<void> {
    const nodeId = p.decision.nodeId;
    const image = p.spec.image;
    const base = { phase: "image" as const, service: p.spec.name, replica: p.replica, nodeId, image };
    const target = this.opts.agents.client(nodeId);
    if (await hasImage(target, image)) {
      progress({ ...base, action: "present" });
      return;
    }
    for (const other of this.opts.fleet.nodes()) {
      if (other.nodeId === nodeId || !other.online || other.endpoint === undefined) continue;
      let source: AgentClient;
      try {
        source = this.opts.agents.client(other.nodeId);
        if (!(await hasImage(source, image))) continue;
      } catch {
        continue;
      }
      progress({ ...base, action: "copy", fromNodeId: other.nodeId, doneBytes: 0 });
      const started = this.now();
      const bytes = await copyWithProgress(source, target, image, (doneBytes, totalBytes) =>
        progress({ ...base, action: "copy", fromNodeId: other.nodeId, doneBytes, totalBytes }),
      );
      this.opts.logger.info("image copied", {
        image,
        from: other.nodeId,
        to: nodeId,
        bytes,
        ms: this.now() - started,
      });
      return;
    }
    progress({ ...base, action: "pull" });
    try {
      await target.call(
        "images.pull",
        { image },
        { timeoutMs: this.opts.imageTransferTimeoutMs, retries: 0 },
      );
    } catch (e) {
      throw new IotFogError(
        "IMAGE_NOT_FOUND",
        `image ${image} is on no online node and cannot be pulled on ${nodeId}: ${errorMessage(e)}`,
      );
    }
  }

  private async rollback(record: DeploymentRecord): Promise<void> {
    for (const r of record.replicas) {
      if (r.state === "pending") continue;
      try {
        await this.opts.agents.client(r.nodeId).call("remove", { deploymentId: r.agentDeploymentId });
      } catch (e) {
        this.opts.logger.warn("rollback could not remove a replica", {
          deployment: record.id,
          replica: r.agentDeploymentId,
          node: r.nodeId,
          error: errorMessage(e),
        });
      }
    }
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
    const failures: string[] = [];
    const kept: ReplicaRecord[] = [];
    await Promise.all(
      record.replicas.map(async (r) => {
        try {
          await this.opts.agents.client(r.nodeId).call("remove", { deploymentId: r.agentDeploymentId });
        } catch (e) {
          failures.push(`${r.service}#${r.replica} on ${r.nodeId}: ${errorMessage(e)}`);
          kept.push(r);
        }
      }),
    );
    if (failures.length > 0) {
      record.replicas = kept;
      record.status = previous === "removing" ? "degraded" : previous;
      record.error = `not removed: ${failures.join("; ")}`;
      throw new IotFogError("UNAVAILABLE", `deployment "${id}": ${record.error}`);
    }
    this.deployments.delete(id);
    this.opts.events.publish({ type: "deployment.removed", deploymentId: id, message: `${id}: removed` });
    return {
      ...structuredClone(record),
      replicas: record.replicas.map((r) => ({ ...r, state: "removing" })),
    };
  }

  // ------------------------------------------------------------------------------------------------ list

  /** Every deployment, replica states refreshed from the agents (at most every refreshTtlMs). */
  async list(): Promise<DeploymentRecord[]> {
    await this.refresh();
    return [...this.deployments.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((d) => structuredClone(d));
  }

  async get(id: string): Promise<DeploymentRecord> {
    await this.refresh();
    const d = this.deployments.get(id);
    if (d === undefined) throw new IotFogError("NOT_FOUND", `deployment "${id}" does not exist`);
    return structuredClone(d);
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
    const answers = new Map<
      string,
      Array<{
        agentId: string;
        state: ReplicaState;
        containerName: string;
        service: string;
        replica: number;
        image: string;
        devices: ReplicaRecord["devices"];
      }>
    >();
    const offline = new Set<string>();
    await Promise.all(
      this.opts.fleet.nodes().map(async (n) => {
        if (!n.online || n.endpoint === undefined) {
          offline.add(n.nodeId);
          return;
        }
        try {
          const list = await this.opts.agents
            .client(n.nodeId)
            .call("list", {}, { timeoutMs: Math.min(this.opts.requestTimeoutMs, 3000), retries: 0 });
          answers.set(
            n.nodeId,
            list.deployments.map((d) => ({
              agentId: d.deploymentId,
              state: toReplicaState(d.state),
              containerName: d.containerName,
              service: d.service,
              replica: d.replica,
              image: d.image,
              devices: d.devices,
            })),
          );
        } catch (e) {
          offline.add(n.nodeId);
          this.opts.logger.debug("cannot list a node's deployments", {
            node: n.nodeId,
            error: errorMessage(e),
          });
        }
      }),
    );
    const known = new Set<string>();
    for (const d of this.deployments.values()) {
      if (d.status === "deploying" || d.status === "removing") {
        for (const r of d.replicas) known.add(`${r.nodeId}/${r.agentDeploymentId}`);
        continue;
      }
      for (const r of d.replicas) {
        known.add(`${r.nodeId}/${r.agentDeploymentId}`);
        if (offline.has(r.nodeId)) {
          r.state = "unknown";
          continue;
        }
        const seen = answers.get(r.nodeId)?.find((a) => a.agentId === r.agentDeploymentId);
        if (seen === undefined) {
          if (answers.has(r.nodeId)) r.state = "missing";
          continue;
        }
        r.state = seen.state;
        r.containerName = seen.containerName;
      }
      if (d.origin === "discovered") d.replicas = d.replicas.filter((r) => r.state !== "missing");
      d.status =
        d.replicas.length > 0 && d.replicas.every((r) => r.state === "running") ? "running" : "degraded";
    }
    for (const [nodeId, list] of answers) {
      for (const a of list) {
        if (known.has(`${nodeId}/${a.agentId}`)) continue;
        const m = AGENT_ID.exec(a.agentId);
        const id = m?.[1] ?? a.agentId;
        let d = this.deployments.get(id);
        if (d === undefined) {
          d = {
            id,
            createdAt: this.now(),
            status: "running",
            origin: "discovered",
            services: [],
            replicas: [],
          };
          this.deployments.set(id, d);
        }
        if (d.origin !== "discovered") continue;
        if (!d.services.some((s) => s.name === a.service))
          d.services.push({ name: a.service, image: a.image, replicas: 0 });
        const svc = d.services.find((s) => s.name === a.service);
        if (svc) svc.replicas++;
        d.replicas.push({
          service: a.service,
          replica: a.replica,
          nodeId,
          agentDeploymentId: a.agentId,
          image: a.image,
          state: a.state,
          containerName: a.containerName,
          devices: a.devices,
          resources: {},
          exclusiveDevices: [],
          sharedDevices: [],
        });
        d.status = d.replicas.every((r) => r.state === "running") ? "running" : "degraded";
      }
    }
    for (const [id, d] of this.deployments)
      if (d.origin === "discovered" && d.replicas.length === 0) this.deployments.delete(id);
  }

  // ------------------------------------------------------------------------------------------------ logs

  /** The last `tail` lines of every replica of a deployment (or of one service / replica). */
  async logs(
    id: string,
    opts: { service?: string; replica?: number; tail?: number; timestamps?: boolean } = {},
  ): Promise<LogLine[]> {
    const d = this.deployments.get(id);
    if (d === undefined) throw new IotFogError("NOT_FOUND", `deployment "${id}" does not exist`);
    const replicas = d.replicas.filter(
      (r) =>
        (opts.service === undefined || r.service === opts.service) &&
        (opts.replica === undefined || r.replica === opts.replica),
    );
    if (replicas.length === 0) {
      throw new IotFogError(
        "NOT_FOUND",
        `deployment "${id}" has no replica ${opts.service ?? ""}${opts.replica === undefined ? "" : `#${opts.replica}`}`,
      );
    }
    const out: LogLine[] = [];
    for (const r of replicas) {
      const res = await this.opts.agents.client(r.nodeId).call("logs", {
        deploymentId: r.agentDeploymentId,
        tail: opts.tail ?? 100,
        timestamps: opts.timestamps ?? false,
      });
      for (const l of res.lines) out.push({ service: r.service, replica: r.replica, nodeId: r.nodeId, ...l });
    }
    return out;
  }
}

function toReplicaState(s: string): ReplicaState {
  return (replicaStates as readonly string[]).includes(s) ? (s as ReplicaState) : "unknown";
}

function toAllocation(deploymentId: string, r: ReplicaRecord): Allocation {
  return {
    deploymentId,
    service: r.service,
    replica: r.replica,
    state: r.state === "pending" ? "reserved" : "placed",
    resources: { ...r.resources },
    devices: [
      ...r.exclusiveDevices.map((id) => ({ id, exclusive: true })),
      ...r.sharedDevices.map((id) => ({ id, exclusive: false })),
    ],
  };
}

async function hasImage(client: AgentClient, image: string): Promise<boolean> {
  const want = withTag(image);
  const { images } = await client.call("images.list", {});
  return images.some((i) => i.tags.some((t) => withTag(t) === want) || i.id === image);
}

function withTag(image: string): string {
  const slash = image.lastIndexOf("/");
  return image.slice(slash + 1).includes(":") || image.includes("@") ? image : `${image}:latest`;
}

export function describeProgress(p: DeployProgress): string {
  const who = `${p.service}#${p.replica}`;
  switch (p.phase) {
    case "placed":
      return `${who} placed on ${p.nodeId}`;
    case "image":
      if (p.action === "present") return `${who} image ${p.image} present on ${p.nodeId}`;
      if (p.action === "pull") return `${who} pulling ${p.image} on ${p.nodeId}`;
      return p.doneBytes === undefined || p.doneBytes === 0
        ? `${who} copying ${p.image} from ${p.fromNodeId ?? "?"} to ${p.nodeId}`
        : `${who} copied ${p.image} to ${p.nodeId} (${p.doneBytes} bytes)`;
    case "starting":
      return `${who} starting on ${p.nodeId}`;
    case "started":
      return `${who} ${p.state} on ${p.nodeId} as ${p.containerName}`;
  }
}

function toScenario(w: WhatIf): WhatIfScenario {
  return { loseNodes: w.lostNodes, loseDevices: w.lostDevices };
}

/**
 * Streams an image from one agent to another (shared protocol: export chunks into a verified import), reporting
 * the bytes done after every chunk so operators see a progress bar. Returns the image size in bytes.
 */
async function copyWithProgress(
  source: AgentClient,
  target: AgentClient,
  image: string,
  onProgress: (doneBytes: number, totalBytes: number) => void,
): Promise<number> {
  const exported = await source.openExport(image);
  try {
    let done = 0;
    await target.importStream(exported.sizeBytes, exported.sha256, async (write) => {
      for await (const chunk of exported.chunks()) {
        await write(chunk);
        done += chunk.length;
        onProgress(done, exported.sizeBytes);
      }
    });
    return exported.sizeBytes;
  } finally {
    await exported.close();
  }
}
