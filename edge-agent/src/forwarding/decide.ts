import {
  deployForwardingSchema,
  place,
  type DeployParams,
  type DeviceAssignment,
  type Explanation,
  type NodeCapabilities,
  type NodeState,
  type ServiceSpec,
} from "@openiotfog/shared";

/**
 * Node-to-node orchestration, the pure part: which peer should run a deploy this node cannot satisfy. The
 * shared placement engine chooses among the peers this node knows from MQTT; loops are impossible because a
 * request carries the nodes it has visited (never chosen again) and stops after `hopLimit` forwards.
 */

export const DEFAULT_HOP_LIMIT = 3;

/** The forwarding part of a deploy request, as it travels from node to node (defined with the deploy command). */
export const forwardingSchema = deployForwardingSchema;
export type Forwarding = NonNullable<DeployParams["forward"]>;

/** A peer as forwarding sees it: its state for placement and where its command endpoint is. */
export interface ForwardCandidate {
  nodeId: string;
  /** ZeroMQ command endpoint from its presence message; peers without one cannot be forwarded to. */
  endpoint: string | undefined;
  state: NodeState;
}

/** The peers heard on MQTT that forwarding may choose: online, with a capability document. */
export function forwardCandidates(
  peers: ReadonlyArray<{
    nodeId: string;
    state: string;
    endpoint?: string | undefined;
    capabilities?: NodeCapabilities | undefined;
  }>,
): ForwardCandidate[] {
  return peers.flatMap((p) =>
    p.state === "online" && p.capabilities !== undefined
      ? [
          {
            nodeId: p.nodeId,
            endpoint: p.endpoint,
            state: { capabilities: p.capabilities, online: true, allocations: [] },
          },
        ]
      : [],
  );
}

export interface ForwardQuery {
  selfNodeId: string;
  spec: ServiceSpec;
  deploymentId: string;
  replica: number;
  forwarding: Forwarding;
  peers: readonly ForwardCandidate[];
}

export type ForwardDecision =
  | {
      ok: true;
      nodeId: string;
      endpoint: string;
      devices: DeviceAssignment[];
      /** What the next node receives: visited now includes this node. */
      next: Forwarding;
      explanation: Explanation;
    }
  | {
      ok: false;
      reason: "not_allowed" | "hop_limit" | "no_peers" | "no_feasible_peer";
      message: string;
      explanation?: Explanation;
    };

export function chooseForwardTarget(q: ForwardQuery): ForwardDecision {
  const f = q.forwarding;
  if (!f.allowed) {
    return { ok: false, reason: "not_allowed", message: "the request does not allow forwarding to a peer" };
  }
  const visited = f.visited.includes(q.selfNodeId) ? f.visited : [...f.visited, q.selfNodeId];
  const forwardsSoFar = visited.length - 1;
  if (forwardsSoFar >= f.hopLimit) {
    return {
      ok: false,
      reason: "hop_limit",
      message: `hop limit ${f.hopLimit} reached (route ${visited.join(" → ")})`,
    };
  }
  const reachable = q.peers.filter(
    (p) => p.endpoint !== undefined && p.nodeId !== q.selfNodeId && !visited.includes(p.nodeId),
  );
  if (reachable.length === 0) {
    return {
      ok: false,
      reason: "no_peers",
      message: `no peer to forward to (known: ${q.peers.length}, not yet visited and reachable: 0)`,
    };
  }
  const decision = place(
    { spec: q.spec, deploymentId: q.deploymentId, replica: q.replica, excludeNodes: visited },
    { nodes: reachable.map((p) => p.state) },
    { explain: "full" },
  );
  if (!decision.ok) {
    return {
      ok: false,
      reason: "no_feasible_peer",
      message: `no peer can run it either: ${decision.message}`,
      explanation: decision.explanation,
    };
  }
  const target = reachable.find((p) => p.state.capabilities.nodeId === decision.nodeId);
  if (target?.endpoint === undefined) {
    return {
      ok: false,
      reason: "no_peers",
      message: `placement chose ${decision.nodeId}, which has no endpoint`,
    };
  }
  return {
    ok: true,
    nodeId: decision.nodeId,
    endpoint: target.endpoint,
    devices: decision.devices,
    next: { allowed: true, hopLimit: f.hopLimit, visited },
    explanation: decision.explanation,
  };
}
