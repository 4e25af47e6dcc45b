import {
  AgentClient,
  AgentClientCache,
  DEFAULT_LIMITS,
  IotFogError,
  type AgentCallObserver,
  type Component,
  type LimitRefusals,
  type Logger,
} from "@openiotfog/shared";
import type { FleetNode } from "./types";

export interface AgentPoolOptions {
  /** Looks a node up in the fleet view. */
  node: (nodeId: string) => FleetNode | undefined;
  requestTimeoutMs: number;
  /** Told of every call and retry (the driver's metrics). */
  observer?: AgentCallObserver;
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
  private readonly clients: AgentClientCache;

  constructor(private readonly opts: AgentPoolOptions) {
    this.clients = new AgentClientCache(
      "agent connections",
      opts.maxConnections ?? DEFAULT_LIMITS.agentConnections,
      opts.logger,
      (endpoint) =>
        new AgentClient({
          ...(opts.observer === undefined ? {} : { observer: opts.observer }),
          endpoint,
          timeoutMs: opts.requestTimeoutMs,
          retries: opts.attempts - 1,
          logger: opts.logger,
        }),
    );
  }

  /** How many connections are open. */
  get size(): number {
    return this.clients.size;
  }

  /** Connections refused because all were busy. */
  get refusals(): LimitRefusals {
    return this.clients.refusals;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    await this.clients.closeAll();
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
    return this.clients.get(`node "${nodeId}"`, node.endpoint);
  }
}
