import { IotFogError } from "@openiotfog/shared";
import type { AgentDirectory } from "./directories";
import type { DeploymentRecord } from "./types";

export interface LogLine {
  service: string;
  replica: number;
  nodeId: string;
  stream: "stdout" | "stderr";
  line: string;
}

export interface LogOptions {
  service?: string;
  replica?: number;
  tail?: number;
  timestamps?: boolean;
}

/** The last `tail` lines of every replica of a deployment (or of one service / replica), from their agents. */
export async function replicaLogs(
  agents: AgentDirectory,
  d: DeploymentRecord,
  opts: LogOptions,
): Promise<LogLine[]> {
  const replicas = d.replicas.filter(
    (r) =>
      (opts.service === undefined || r.service === opts.service) &&
      (opts.replica === undefined || r.replica === opts.replica),
  );
  if (replicas.length === 0) {
    throw new IotFogError(
      "NOT_FOUND",
      `deployment "${d.id}" has no replica ${opts.service ?? ""}${opts.replica === undefined ? "" : `#${opts.replica}`}`,
    );
  }
  const out: LogLine[] = [];
  for (const r of replicas) {
    const res = await agents.client(r.nodeId).call("logs", {
      deploymentId: r.agentDeploymentId,
      tail: opts.tail ?? 100,
      timestamps: opts.timestamps ?? false,
    });
    for (const l of res.lines) out.push({ service: r.service, replica: r.replica, nodeId: r.nodeId, ...l });
  }
  return out;
}
