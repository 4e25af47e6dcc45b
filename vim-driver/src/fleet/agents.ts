import {
  AgentClient,
  AgentClientCache,
  DEFAULT_LIMITS,
  IotFogError,
  type AgentCallObserver,
  type Component,
  type CurveClientKeys,
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
  /**
   * CurveZMQ keys to reach a node (its key from enrollment); undefined: plain ZeroMQ (security off). Throws for
   * a node that is not enrolled, so nothing is sent to it.
   */
  curveKeys?: (nodeId: string) => CurveClientKeys | undefined;
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
  /** The keys of the client being made (set just before the cache's factory runs). */
  private making: CurveClientKeys | undefined;

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
          ...(this.making === undefined ? {} : { curve: this.making }),
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
    let curve: CurveClientKeys | undefined;
    try {
      curve = this.opts.curveKeys?.(nodeId);
    } catch (e) {
      this.clients.closeWhere((key) => key.startsWith(`node "${nodeId}"|`));
      throw e;
    }
    // The keys are part of the cache key: a re-enrolled node or a rotated fleet key makes a new client.
    this.making = curve;
    return this.clients.get(
      `node "${nodeId}"|${curve?.serverKey ?? ""}|${curve?.publicKey ?? ""}`,
      node.endpoint,
    );
  }

  /** Closes the clients of nodes that may no longer be reached (revoked, or their keys changed). */
  prune(): void {
    this.clients.closeWhere((key) => {
      const m = /^node "(.*)"\|(.*)\|(.*)$/.exec(key);
      if (m?.[1] === undefined) return false;
      try {
        const curve = this.opts.curveKeys?.(m[1]);
        return curve !== undefined && (curve.serverKey !== m[2] || curve.publicKey !== m[3]);
      } catch {
        return true;
      }
    });
  }
}
