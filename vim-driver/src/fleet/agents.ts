import {
  AgentClient,
  DEFAULT_LIMITS,
  IotFogError,
  LimitRefusals,
  type Component,
  type Logger,
} from "@openiotfog/shared";
import type { FleetNode } from "./types";

export interface AgentPoolOptions {
  /** Looks a node up in the fleet view. */
  node: (nodeId: string) => FleetNode | undefined;
  requestTimeoutMs: number;
  /** Attempts per call (the first one included). */
  attempts: number;
  logger: Logger;
  /** Open connections; default DEFAULT_LIMITS.agentConnections. */
  maxConnections?: number;
}

/**
 * One AgentClient per node, created on first use and replaced when the node announces a new endpoint (an agent
 * restarted on another port). Calls to a node that is offline fail at once with UNAVAILABLE naming the node,
 * instead of waiting for every retry to time out. Connections are bounded (`maxConnections`, each is a socket
 * and a file descriptor): a new one closes the least recently used idle one, or is refused when all are busy.
 */
export class AgentPool implements Component {
  readonly name = "agent-pool";
  /** In order of last use, least recent first. */
  private readonly clients = new Map<string, AgentClient>();
  readonly refusals: LimitRefusals;

  constructor(private readonly opts: AgentPoolOptions) {
    this.refusals = new LimitRefusals(
      "agent connections",
      opts.maxConnections ?? DEFAULT_LIMITS.agentConnections,
      opts.logger,
    );
  }

  /** How many connections are open. */
  get size(): number {
    return this.clients.size;
  }

  /** Closes the least recently used connection without calls in flight; false when every one is busy. */
  private makeRoom(): boolean {
    if (this.clients.size < this.refusals.limit) return true;
    for (const [nodeId, client] of this.clients) {
      if (client.inFlight > 0) continue;
      this.clients.delete(nodeId);
      void client.close();
      return true;
    }
    return false;
  }

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
    if (existing !== undefined) this.clients.delete(nodeId);
    if (existing !== undefined && existing.endpoint === node.endpoint) {
      this.clients.set(nodeId, existing); // most recently used now
      return existing;
    }
    if (existing !== undefined) void existing.close();
    if (!this.makeRoom()) {
      this.refusals.refuse({ nodeId });
      throw new IotFogError(
        "UNAVAILABLE",
        `cannot connect to node "${nodeId}": ${this.refusals.limit} agent connections are all busy; retry later`,
      );
    }
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
