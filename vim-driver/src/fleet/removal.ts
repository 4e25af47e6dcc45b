import { errorMessage } from "@openiotfog/shared";
import type { DeclaredState } from "./declared";
import type { AgentDirectory } from "./directories";
import type { ReplicaRecord } from "./types";

/** What asking the agents to remove replicas came to. */
export interface RemovalOutcome {
  removed: ReplicaRecord[];
  /** Replicas whose node did not answer (still there as far as anyone knows). */
  kept: ReplicaRecord[];
  /** One line per kept replica: which, where, why. */
  failures: string[];
}

/** Asks every replica's agent to remove it, all at once. */
export async function removeReplicas(
  agents: AgentDirectory,
  replicas: ReplicaRecord[],
): Promise<RemovalOutcome> {
  const out: RemovalOutcome = { removed: [], kept: [], failures: [] };
  await Promise.all(
    replicas.map(async (r) => {
      try {
        await agents.client(r.nodeId).call("remove", { deploymentId: r.agentDeploymentId });
        out.removed.push(r);
      } catch (e) {
        out.failures.push(`${r.service}#${r.replica} on ${r.nodeId}: ${errorMessage(e)}`);
        out.kept.push(r);
      }
    }),
  );
  return out;
}

/**
 * The operator asked for a removal: nothing stays declared; what was removed is owed nothing any more, what could
 * not be removed is owed to its node (a tombstone, kept across a restart, paid when the node answers again).
 */
export async function undeclareRemoved(
  declared: DeclaredState,
  id: string,
  outcome: Pick<RemovalOutcome, "removed" | "kept" | "failures">,
  now: number,
): Promise<void> {
  await declared.delete(id);
  for (const r of outcome.removed) await declared.removeTombstone(r.nodeId, r.agentDeploymentId);
  const reason = outcome.failures.join("; ");
  for (const r of outcome.kept)
    await declared.addTombstone({
      nodeId: r.nodeId,
      agentDeploymentId: r.agentDeploymentId,
      since: now,
      reason,
    });
}
