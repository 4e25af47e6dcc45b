import { AgentClient, IotFogError, type Component, type Logger } from "@openiotfog/shared";
import type { FleetNode } from "./types";

export interface AgentPoolOptions {
  /** Looks a node up in the fleet view. */
  node: (nodeId: string) => FleetNode | undefined;
  requestTimeoutMs: number;
  /** Attempts per call (the first one included). */
  attempts: number;
  logger: Logger;
}

/**
 * One AgentClient per node, created on first use and replaced when the node announces a new endpoint (an agent
 * restarted on another port). Calls to a node that is offline fail at once with UNAVAILABLE naming the node,
 * instead of waiting for every retry to time out.
 */
export class AgentPool implements Component {
  readonly name = "agent-pool";
  private readonly clients = new Map<string, AgentClient>();

  constructor(private readonly opts: AgentPoolOptions) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  /** The client of an online node. */
  client(nodeId: string): AgentClient {
    const node = this.opts.node(nodeId);
    if (node === undefined) throw new IotFogError("NOT_FOUND", `node "${nodeId}" is not known to the fleet`);
    if (!node.online) {
      throw new IotFogError(
        "UNAVAILABLE",
        `node "${nodeId}" is offline (${node.offlineReason ?? "no presence"})`,
      );
    }
    if (node.endpoint === undefined) {
      throw new IotFogError("UNAVAILABLE", `node "${nodeId}" has not announced its command endpoint yet`);
    }
    const existing = this.clients.get(nodeId);
    if (existing !== undefined && existing.endpoint === node.endpoint) return existing;
    if (existing !== undefined) void existing.close();
    const client = new AgentClient({
      endpoint: node.endpoint,
      timeoutMs: this.opts.requestTimeoutMs,
      retries: this.opts.attempts - 1,
      logger: this.opts.logger,
    });
    this.clients.set(nodeId, client);
    return client;
  }
}
