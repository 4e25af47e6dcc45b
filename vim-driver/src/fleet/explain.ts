import {
  IotFogError,
  applyScenario,
  planDeployment,
  whatIf as whatIfReport,
  type Allocation,
  type ClusterSnapshot,
  type NodeState,
  type WhatIfScenario,
} from "@openiotfog/shared";
import type { NodeDirectory } from "./directories";
import type { DeploymentRecord, ExplainResult, ReplicaRecord, WhatIf, WhatIfResult } from "./types";
import type { ParsedWorkload } from "./workload";

/**
 * The read-only questions: the fleet as placement sees it, a dry run that explains every decision, and what-if
 * checks (lose a node or a device). Nothing here talks to an agent or changes a record.
 */

/** The fleet as placement sees it: live free resources, and every recorded replica as an allocation. */
export function fleetSnapshot(
  fleet: NodeDirectory,
  deployments: Iterable<DeploymentRecord>,
): ClusterSnapshot {
  const all = [...deployments];
  const nodes: NodeState[] = [];
  for (const n of fleet.nodes()) {
    if (n.capabilities === undefined) continue;
    const caps = structuredClone(n.capabilities);
    if (n.live !== undefined) {
      caps.resources.memory.freeBytes = Math.round(n.live.memory.freeBytes);
      caps.resources.disk.freeBytes = Math.round(n.live.disk.freeBytes);
    }
    const allocations: Allocation[] = [];
    for (const d of all) {
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
export function explainWorkload(
  workload: ParsedWorkload,
  snapshot: ClusterSnapshot,
  opts: { whatIf?: WhatIf; nMinusOne?: boolean } = {},
): ExplainResult {
  const { name, services } = workload;
  const scenarios: WhatIfScenario[] | undefined =
    opts.whatIf !== undefined ? [toScenario(opts.whatIf)] : opts.nMinusOne === true ? undefined : [];
  const report = whatIfReport(services, snapshot, scenarios, { deploymentId: name, explain: "full" });
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
export function whatIfLoss(
  whatIf: WhatIf,
  fleet: NodeDirectory,
  deployments: Iterable<DeploymentRecord>,
  snapshot: ClusterSnapshot,
): WhatIfResult {
  for (const id of whatIf.lostNodes) {
    if (fleet.node(id) === undefined) {
      throw new IotFogError("NOT_FOUND", `field "lostNodes": node "${id}" is not known to the fleet`);
    }
  }
  const lostNodes = new Set(whatIf.lostNodes);
  const hit = (r: ReplicaRecord): boolean =>
    lostNodes.has(r.nodeId) ||
    whatIf.lostDevices.some((d) => d.nodeId === r.nodeId && r.devices.some((x) => x.deviceId === d.deviceId));
  const afterLoss = applyScenario(snapshot, toScenario(whatIf));
  const affected: WhatIfResult["affected"] = [];
  const problems: string[] = [];
  for (const d of deployments) {
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

function toScenario(w: WhatIf): WhatIfScenario {
  return { loseNodes: w.lostNodes, loseDevices: w.lostDevices };
}
