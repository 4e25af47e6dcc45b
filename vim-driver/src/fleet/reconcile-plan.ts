import {
  nodeLossPolicy,
  replacementDelayMs,
  type ClusterSnapshot,
  type ServiceSpec,
} from "@openiotfog/shared";
import type { DeclaredDeployment, DeclaredReplica, Tombstone } from "./declared";
import type { Observation } from "./observed";
import { deploymentOfAgentId } from "./workload";

/**
 * The pure half of the reconciler: compares declared state with observed state and says what to do. No I/O, no
 * clock of its own (the caller passes `now` and what it remembers: since when each node is lost, when a replica
 * may be tried again).
 */

/** One declared replica and where it stands. */
export interface ReplicaRef {
  deploymentId: string;
  spec: ServiceSpec;
  declared: DeclaredReplica;
}

export type ReconcileAction =
  /** Its node is lost and the policy says replace (grace over): place it again on another node. */
  | (ReplicaRef & { kind: "replace"; lostForMs: number })
  /** Its node answers but does not run it (the agent lost it): deploy it there again. */
  | (ReplicaRef & { kind: "recreate" })
  /** Its container stopped while the agent wants it running, and the spec allows a restart. */
  | (ReplicaRef & { kind: "restart"; state: string })
  /** Nothing to do now; `note` says why (shown with the replica). */
  | (ReplicaRef & { kind: "wait"; note: string })
  /** A copy on a node where nothing declares it (superseded by a re-placement, or no longer declared). */
  | { kind: "remove"; nodeId: string; agentDeploymentId: string; reason: string; tombstone?: Tombstone };

export interface PlanInput {
  declared: DeclaredDeployment[];
  tombstones: Tombstone[];
  observation: Observation;
  /** Nodes the fleet view shows online. */
  online: (nodeId: string) => boolean;
  /**
   * False for a node the fleet view has not heard of while it may still be settling after the driver started
   * (retained presence on its way): such a node is waited for, not taken for lost.
   */
  settled: (nodeId: string) => boolean;
  /** Since when each node has been seen lost (epoch ms), kept by the caller. */
  lostSince: (nodeId: string) => number;
  /** Deployments being deployed or removed right now: the orchestrator is acting on them. */
  busy: (deploymentId: string) => boolean;
  now: number;
}

export function replicaKey(deploymentId: string, service: string, replica: number): string {
  return `${deploymentId}/${service}#${replica}`;
}

/** What to do about every declared replica, every copy nothing declares, and every tombstone now payable. */
export function planReconcile(input: PlanInput): ReconcileAction[] {
  const { observation, now } = input;
  const actions: ReconcileAction[] = [];
  const answered = (nodeId: string): boolean =>
    input.online(nodeId) && observation.answers.has(nodeId) && !observation.offline.has(nodeId);
  /** nodeId/agentId of every replica placed where it is declared. */
  const placed = new Set<string>();
  const declaredIds = new Set<string>();
  for (const d of input.declared) {
    declaredIds.add(d.id);
    for (const r of d.replicas) placed.add(`${r.nodeId}/${r.agentDeploymentId}`);
    if (input.busy(d.id)) continue;
    for (const r of d.replicas) {
      const spec = d.specs.find((s) => s.name === r.service);
      if (spec === undefined) continue;
      const ref: ReplicaRef = { deploymentId: d.id, spec, declared: r };
      // Lost is the fleet view's verdict (presence, last-will, heartbeat expiry); a node it still shows online
      // that did not answer one `list` (a slow Docker, a busy Pi) is waited for, never replaced on that alone.
      if (!input.settled(r.nodeId)) {
        actions.push({
          ...ref,
          kind: "wait",
          note: `node ${r.nodeId} not heard from yet since the driver started`,
        });
        continue;
      }
      if (!input.online(r.nodeId)) {
        actions.push(onLostNode(ref, now - input.lostSince(r.nodeId)));
        continue;
      }
      if (!answered(r.nodeId)) {
        actions.push({
          ...ref,
          kind: "wait",
          note: `node ${r.nodeId} did not answer; waiting for its answer`,
        });
        continue;
      }
      const seen = observation.answers.get(r.nodeId)?.find((a) => a.agentId === r.agentDeploymentId);
      if (seen === undefined) actions.push({ ...ref, kind: "recreate" });
      else if (
        (seen.state === "exited" || seen.state === "dead") &&
        seen.desired !== "stopped" &&
        spec.restart !== "no"
      )
        actions.push({ ...ref, kind: "restart", state: seen.state });
    }
  }
  // Fencing: a node that answers again with a copy of a declared replica that now lives elsewhere removes it.
  for (const [nodeId, list] of observation.answers) {
    if (!answered(nodeId)) continue;
    for (const a of list) {
      if (!declaredIds.has(deploymentOfAgentId(a.agentId)) || input.busy(deploymentOfAgentId(a.agentId)))
        continue;
      if (placed.has(`${nodeId}/${a.agentId}`)) continue;
      actions.push({
        kind: "remove",
        nodeId,
        agentDeploymentId: a.agentId,
        reason: "superseded: declared on another node (or no longer declared)",
      });
    }
  }
  // Removals owed to nodes that answer again.
  for (const t of input.tombstones) {
    if (!answered(t.nodeId) || placed.has(`${t.nodeId}/${t.agentDeploymentId}`)) continue;
    if (
      actions.some(
        (a) => a.kind === "remove" && a.nodeId === t.nodeId && a.agentDeploymentId === t.agentDeploymentId,
      )
    )
      continue;
    actions.push({
      kind: "remove",
      nodeId: t.nodeId,
      agentDeploymentId: t.agentDeploymentId,
      reason: `owed since ${new Date(t.since).toISOString()}: ${t.reason}`,
      tombstone: t,
    });
  }
  return actions;
}

function onLostNode(ref: ReplicaRef, lostForMs: number): ReconcileAction {
  const how = `node ${ref.declared.nodeId} is lost`;
  if (nodeLossPolicy(ref.spec) === "keep")
    return {
      ...ref,
      kind: "wait",
      note: `${how}; on_node_loss: keep${ref.spec.failover?.onNodeLoss === undefined ? " (it has volumes)" : ""}, waiting for the node`,
    };
  // An exclusive device is never held twice: its replica moves only once the old copy has fenced itself.
  const delay = replacementDelayMs(ref.spec);
  if (delay === undefined)
    return {
      ...ref,
      kind: "wait",
      note: `${how}; it holds an exclusive device and has no fence_after, so nothing stops the old copy: waiting for the node`,
    };
  if (lostForMs < delay) {
    const grace = ref.spec.failover?.graceMs ?? 0;
    const why =
      delay === grace
        ? `its grace of ${seconds(grace)}`
        : `${seconds(delay)}, when the old copy has fenced itself`;
    return { ...ref, kind: "wait", note: `${how}; placed again elsewhere once lost for ${why}` };
  }
  return { ...ref, kind: "replace", lostForMs };
}

/** The snapshot without one replica's own allocation (it is being placed again). */
export function withoutReplica(
  snapshot: ClusterSnapshot,
  deploymentId: string,
  service: string,
  replica: number,
): ClusterSnapshot {
  return {
    nodes: snapshot.nodes.map((n) => ({
      ...n,
      allocations: n.allocations.filter(
        (a) => !(a.deploymentId === deploymentId && a.service === service && a.replica === replica),
      ),
    })),
  };
}

export function seconds(ms: number): string {
  return `${Math.max(0, Math.round(ms / 100) / 10)} s`;
}
