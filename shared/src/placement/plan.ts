import type { ServiceSpec } from "../blueprint/spec";
import { orderByDependencies } from "../blueprint/dependencies";
import { place } from "./place";
import type { Allocation, ClusterSnapshot, NodeState, PlacementDecision, PlacementOptions } from "./types";

/**
 * Planning a whole deployment (every replica of every service, in dependency order) and the what-if dry run:
 * would it place, and would it still place if node X or device Y were lost. Pure: snapshots are copied, never
 * mutated.
 */
export interface PlannedReplica {
  service: string;
  replica: number;
  decision: PlacementDecision;
}

export interface DeploymentPlan {
  ok: boolean;
  replicas: PlannedReplica[];
  /** One line per replica that could not be placed: `zigbee2mqtt replica 0: no node satisfies: ...`. */
  problems: string[];
  /** The snapshot with every placed replica added as a `reserved` allocation. */
  snapshot: ClusterSnapshot;
}

export interface PlanOptions extends PlacementOptions {
  /** Identifies the deployment; its existing allocations are dropped first, so the plan starts afresh. */
  deploymentId?: string;
}

function withoutDeployment(snapshot: ClusterSnapshot, deploymentId: string | undefined): NodeState[] {
  if (deploymentId === undefined) return [...snapshot.nodes];
  return snapshot.nodes.map((n) =>
    n.allocations.some((a) => a.deploymentId === deploymentId)
      ? { ...n, allocations: n.allocations.filter((a) => a.deploymentId !== deploymentId) }
      : n,
  );
}

/** Places every replica of every service in dependency order, reserving as it goes. */
export function planDeployment(
  specs: readonly ServiceSpec[],
  snapshot: ClusterSnapshot,
  options: PlanOptions = {},
): DeploymentPlan {
  const { deploymentId, ...placementOptions } = options;
  const nodes = withoutDeployment(snapshot, deploymentId);
  const indexById = new Map(nodes.map((n, i) => [n.capabilities.nodeId, i]));
  const replicas: PlannedReplica[] = [];
  const problems: string[] = [];
  for (const spec of orderByDependencies(specs)) {
    for (let replica = 0; replica < spec.replicas; replica++) {
      const request = deploymentId === undefined ? { spec, replica } : { spec, replica, deploymentId };
      const decision = place(request, { ...snapshot, nodes }, placementOptions);
      replicas.push({ service: spec.name, replica, decision });
      if (!decision.ok) {
        problems.push(`${spec.name} replica ${replica}: ${decision.message}`);
        continue;
      }
      const i = indexById.get(decision.nodeId) as number;
      const chosen = nodes[i] as NodeState;
      const allocation: Allocation = {
        service: spec.name,
        replica,
        state: "reserved",
        resources: { ...spec.resources },
        devices: decision.devices.map((d) => ({ id: d.device.id, exclusive: d.exclusive })),
      };
      if (deploymentId !== undefined) allocation.deploymentId = deploymentId;
      nodes[i] = { ...chosen, allocations: [...chosen.allocations, allocation] };
    }
  }
  return { ok: problems.length === 0, replicas, problems, snapshot: { ...snapshot, nodes } };
}

/** A loss to simulate. */
export interface WhatIfScenario {
  /** Shown in reports; default derived from the losses (`lose node pi-02`, `lose device zb-1 on pi-02`). */
  name?: string;
  loseNodes?: string[];
  /** A device unplugged or broken; without nodeId, every device with that id is lost. */
  loseDevices?: Array<{ nodeId?: string; deviceId: string }>;
}

export interface WhatIfOutcome {
  name: string;
  scenario: WhatIfScenario;
  plan: DeploymentPlan;
}

export interface WhatIfReport {
  /** True when the baseline and every scenario place completely. */
  ok: boolean;
  baseline: DeploymentPlan;
  scenarios: WhatIfOutcome[];
  /** One line per failing scenario: `lose node pi-02: zigbee2mqtt replica 0: no node satisfies: ...`. */
  problems: string[];
}

function scenarioName(s: WhatIfScenario): string {
  if (s.name !== undefined) return s.name;
  const parts = [
    ...(s.loseNodes ?? []).map((n) => `node ${n}`),
    ...(s.loseDevices ?? []).map((d) =>
      d.nodeId === undefined ? `device ${d.deviceId}` : `device ${d.deviceId} on ${d.nodeId}`,
    ),
  ];
  return parts.length === 0 ? "no loss" : `lose ${parts.join(", ")}`;
}

/** The snapshot after the scenario's losses. */
export function applyScenario(snapshot: ClusterSnapshot, scenario: WhatIfScenario): ClusterSnapshot {
  const lostNodes = new Set(scenario.loseNodes ?? []);
  const lostDevices = scenario.loseDevices ?? [];
  const nodes = snapshot.nodes
    .filter((n) => !lostNodes.has(n.capabilities.nodeId))
    .map((n) => {
      const lost = lostDevices
        .filter((d) => d.nodeId === undefined || d.nodeId === n.capabilities.nodeId)
        .map((d) => d.deviceId);
      if (lost.length === 0) return n;
      return {
        ...n,
        capabilities: {
          ...n.capabilities,
          devices: n.capabilities.devices.filter((d) => !lost.includes(d.id)),
        },
      };
    });
  return { ...snapshot, nodes };
}

/**
 * N-1 scenarios for a plan: lose each node the plan uses, and each device it assigns (losing anything else
 * cannot change the outcome, so it is not worth simulating).
 */
export function nMinusOneScenarios(baseline: DeploymentPlan): WhatIfScenario[] {
  const nodes = new Set<string>();
  const devices = new Map<string, { nodeId: string; deviceId: string }>();
  for (const r of baseline.replicas) {
    if (!r.decision.ok) continue;
    nodes.add(r.decision.nodeId);
    for (const d of r.decision.devices)
      devices.set(`${r.decision.nodeId}\u0000${d.device.id}`, {
        nodeId: r.decision.nodeId,
        deviceId: d.device.id,
      });
  }
  return [
    ...[...nodes].sort().map((n) => ({ loseNodes: [n] })),
    ...[...devices.values()].map((d) => ({ loseDevices: [d] })),
  ];
}

/**
 * The what-if dry run: plans the deployment as is, then once per scenario (default: N-1, see nMinusOneScenarios).
 * Each scenario replans from the original snapshot minus the loss, as a re-placement after the loss would.
 */
export function whatIf(
  specs: readonly ServiceSpec[],
  snapshot: ClusterSnapshot,
  scenarios?: readonly WhatIfScenario[],
  options: PlanOptions = {},
): WhatIfReport {
  const baseline = planDeployment(specs, snapshot, options);
  const chosen = scenarios ?? nMinusOneScenarios(baseline);
  const outcomes = chosen.map((scenario) => ({
    name: scenarioName(scenario),
    scenario,
    plan: planDeployment(specs, applyScenario(snapshot, scenario), options),
  }));
  const problems = [
    ...baseline.problems.map((p) => `as is: ${p}`),
    ...outcomes.flatMap((o) => o.plan.problems.map((p) => `${o.name}: ${p}`)),
  ];
  return { ok: problems.length === 0, baseline, scenarios: outcomes, problems };
}
