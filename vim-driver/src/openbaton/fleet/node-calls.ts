import { errorMessage, type AgentClient, type Logger } from "@openiotfog/shared";
import type { AgentPool } from "../../fleet/agents";
import type { LiveFleet, LiveNode } from "./live-fleet";

/** What the VIM modules that talk to every node share: the live fleet, the agent clients and a logger. */
export interface NodeCalls {
  fleet: LiveFleet;
  agents: Pick<AgentPool, "client">;
  logger: Logger;
}

/** Runs `fn` on every live node; failures are logged and left out (a dead node must not fail refresh). */
export async function onLiveNodes<T>(
  calls: NodeCalls,
  what: string,
  fn: (node: LiveNode, client: AgentClient) => Promise<T>,
): Promise<Array<{ node: LiveNode; value: T }>> {
  const nodes = calls.fleet.live();
  const settled = await Promise.allSettled(nodes.map(async (n) => fn(n, calls.agents.client(n.nodeId))));
  const out: Array<{ node: LiveNode; value: T }> = [];
  settled.forEach((r, i) => {
    const node = nodes[i] as LiveNode;
    if (r.status === "fulfilled") out.push({ node, value: r.value });
    else
      calls.logger.warn(`${what} failed on a node`, { nodeId: node.nodeId, error: errorMessage(r.reason) });
  });
  return out;
}
