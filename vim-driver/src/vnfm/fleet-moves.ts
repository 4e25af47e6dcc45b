import { agentDeploymentId, parseServerExtId } from "@openiotfog/shared";
import type { FleetEvent } from "../fleet/types";

/**
 * What the fleet's reconciler did on its own to a VNFC, read from the fleet's event log (fleet/reconciler.ts):
 * `started` — a replica started on a node (a VNFC that now runs under the same agent deployment id on another
 * node than its vc_id says was placed again: `on_node_loss: replace`); `pending` — a replica the reconciler
 * cannot place or start, with its explanation. Pure, so the reading is unit-tested without a fleet.
 */
export type ReconcilerNews =
  | { kind: "started"; agentDeploymentId: string; nodeId: string }
  | { kind: "pending"; agentDeploymentId: string; message: string };

export function reconcilerNews(e: FleetEvent): ReconcilerNews | undefined {
  const service = e.data?.service;
  const replica = e.data?.replica;
  if (e.deploymentId === undefined || typeof service !== "string" || typeof replica !== "number")
    return undefined;
  const agentId = agentDeploymentId(e.deploymentId, service, replica);
  if (e.type === "deployment.progress" && e.data?.phase === "started" && e.nodeId !== undefined)
    return { kind: "started", agentDeploymentId: agentId, nodeId: e.nodeId };
  if (e.type === "replica.pending")
    return { kind: "pending", agentDeploymentId: agentId, message: e.message };
  return undefined;
}

/** The watched vc_id a `started` moved elsewhere: same agent deployment id, another node. */
export function movedFrom(
  vcIds: Iterable<string>,
  news: { agentDeploymentId: string; nodeId: string },
): string | undefined {
  for (const vcId of vcIds) {
    const ref = parseServerExtId(vcId);
    if (ref?.agentDeploymentId === news.agentDeploymentId && ref.nodeId !== news.nodeId) return vcId;
  }
  return undefined;
}

/** The watched vc_id of a `pending` replica. */
export function pendingVnfc(
  vcIds: Iterable<string>,
  news: { agentDeploymentId: string },
): string | undefined {
  for (const vcId of vcIds)
    if (parseServerExtId(vcId)?.agentDeploymentId === news.agentDeploymentId) return vcId;
  return undefined;
}

/** The server a VNFC runs as now when the fleet placed it again: same agent deployment id, another node. */
export function movedTo(extIds: Iterable<string>, vcId: string): string | undefined {
  const ref = parseServerExtId(vcId);
  if (ref === undefined) return undefined;
  for (const extId of extIds) {
    const other = parseServerExtId(extId);
    if (other?.agentDeploymentId === ref.agentDeploymentId && other.nodeId !== ref.nodeId) return extId;
  }
  return undefined;
}
