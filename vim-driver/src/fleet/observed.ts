import { errorMessage, type Logger } from "@openiotfog/shared";
import type { AgentDirectory, NodeDirectory } from "./directories";
import { replicaStates, type DeploymentRecord, type ReplicaRecord, type ReplicaState } from "./types";
import { deploymentOfAgentId } from "./workload";

/** One replica as an agent lists it. */
export interface ObservedReplica {
  agentId: string;
  state: ReplicaState;
  /** What the agent keeps it at (`stopped` after a stop command). */
  desired: "running" | "stopped";
  containerName: string;
  service: string;
  replica: number;
  image: string;
  devices: ReplicaRecord["devices"];
}

/** Observed state: what each answering node runs, and which nodes did not answer (offline or silent). */
export interface Observation {
  answers: Map<string, ObservedReplica[]>;
  offline: Set<string>;
}

/** Asks every online agent what it runs (`list`); a node that does not answer counts as offline. */
export async function observeFleet(
  fleet: NodeDirectory,
  agents: AgentDirectory,
  opts: { timeoutMs: number; logger: Logger },
): Promise<Observation> {
  const answers = new Map<string, ObservedReplica[]>();
  const offline = new Set<string>();
  await Promise.all(
    fleet.nodes().map(async (n) => {
      if (!n.online || n.endpoint === undefined) {
        offline.add(n.nodeId);
        return;
      }
      try {
        const list = await agents
          .client(n.nodeId)
          .call("list", {}, { timeoutMs: opts.timeoutMs, retries: 0 });
        answers.set(
          n.nodeId,
          list.deployments.map((d) => ({
            agentId: d.deploymentId,
            state: toReplicaState(d.state),
            desired: d.desired,
            containerName: d.containerName,
            service: d.service,
            replica: d.replica,
            image: d.image,
            devices: d.devices,
          })),
        );
      } catch (e) {
        offline.add(n.nodeId);
        opts.logger.debug("cannot list a node's deployments", { node: n.nodeId, error: errorMessage(e) });
      }
    }),
  );
  return { answers, offline };
}

/**
 * Brings the records up to date with what the agents answered: replica states and container names, `unknown` on
 * nodes that did not answer, `missing` where the node answered without it. Replicas found on agents that no
 * record names (deployed before this driver started, by another driver) appear as `discovered` deployments.
 */
export function applyObservation(
  deployments: Map<string, DeploymentRecord>,
  observation: Observation,
  now: number,
): void {
  const { answers, offline } = observation;
  const known = new Set<string>();
  for (const d of deployments.values()) {
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
      const id = deploymentOfAgentId(a.agentId);
      let d = deployments.get(id);
      if (d === undefined) {
        d = { id, createdAt: now, status: "running", origin: "discovered", services: [], replicas: [] };
        deployments.set(id, d);
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
  for (const [id, d] of deployments)
    if (d.origin === "discovered" && d.replicas.length === 0) deployments.delete(id);
}

function toReplicaState(s: string): ReplicaState {
  return (replicaStates as readonly string[]).includes(s) ? (s as ReplicaState) : "unknown";
}
