import { IotFogError } from "../errors";
import type { ServiceSpec } from "../blueprint/spec";
import type {
  ClusterSnapshot,
  NodeState,
  PlacementDecision,
  PlacementOptions,
  PlacementRequest,
} from "./types";

/** Chooses a node for one replica: filters, scores, deterministic tie-break. Pure: no I/O, no clock. */
export function place(
  request: PlacementRequest,
  snapshot: ClusterSnapshot,
  options: PlacementOptions = {},
): PlacementDecision {
  throw new IotFogError(
    "UNSUPPORTED",
    `place(${request.spec.name}) over ${snapshot.nodes.length} nodes is not implemented yet (${options.explain ?? "summary"})`,
  );
}

/**
 * An agent's own admission check before it starts a replica: would placement accept this node? The node is
 * taken as online, and the request's own reservation on the node does not count against it.
 */
export function checkAdmission(
  spec: ServiceSpec,
  self: NodeState,
  request: Omit<PlacementRequest, "spec"> = {},
): PlacementDecision {
  return place({ ...request, spec }, { nodes: [{ ...self, online: true }] }, { explain: "full" });
}
