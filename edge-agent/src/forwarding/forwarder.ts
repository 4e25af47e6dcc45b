import {
  AgentClient,
  AgentClientCache,
  DEFAULT_LIMITS,
  IotFogError,
  errorMessage,
  toIotFogError,
  type Component,
  type DeployParams,
  type DeployResult,
  type Logger,
} from "@openiotfog/shared";
import type { EventBus } from "../monitoring/bus";
import type { NodeSecurity } from "../security/node-security";
import type { ForwardingConfig } from "./config";
import { chooseForwardTarget, type ForwardCandidate, type Forwarding } from "./decide";

/** Sends a deploy to a peer's command endpoint; the default uses one AgentClient per endpoint. */
export type DeploySender = (
  endpoint: string,
  params: DeployParams,
  timeoutMs: number,
  nodeId: string,
) => Promise<DeployResult>;

export interface DeployForwarderOptions {
  selfNodeId: string;
  config: ForwardingConfig;
  /** The peers this node knows from MQTT, as placement sees them. */
  peers: () => ForwardCandidate[];
  bus: EventBus;
  logger: Logger;
  send?: DeploySender;
  /** Open connections to peers; default DEFAULT_LIMITS.peerConnections. */
  maxClients?: number;
  /** This node's keys and the enrolled peers' keys: forwarding connects with CurveZMQ when security is on. */
  security?: NodeSecurity;
}

/** Forwards remembered per deployment id, so a retried request goes where the first one went. */
const REMEMBERED_FORWARDS = 1000;
/** Peers tried for one request before giving up (a peer may have gone since its last heartbeat). */
const MAX_ATTEMPTS = 3;

/**
 * Node-to-node orchestration: when this node refuses a deploy and the request allows forwarding, choose a peer
 * with the placement engine and send it the request over ZeroMQ. The reply carries the route, ending with the
 * node the service landed on.
 */
export class DeployForwarder implements Component {
  readonly name = "deploy-forwarder";
  /** Connections to peers, by endpoint (peers announce them, so they are bounded). */
  readonly clients: AgentClientCache;
  private readonly remembered = new Map<string, { nodeId: string; endpoint: string }>();
  private readonly send: DeploySender;

  constructor(private readonly opts: DeployForwarderOptions) {
    this.send =
      opts.send ??
      ((endpoint, params, timeoutMs, nodeId) => this.viaClient(endpoint, params, timeoutMs, nodeId));
    this.clients = new AgentClientCache(
      "peer connections",
      opts.maxClients ?? DEFAULT_LIMITS.peerConnections,
      opts.logger,
      (endpoint, key) => {
        // key: "<nodeId>|<the peer's enrolled key>" (empty with security off)
        const serverKey = key.slice(key.indexOf("|") + 1);
        const security = opts.security;
        return new AgentClient({
          endpoint,
          timeoutMs: opts.config.timeoutMs,
          retries: 1,
          logger: opts.logger,
          ...(security?.enabled === true && serverKey !== ""
            ? { curve: { ...security.keys, serverKey } }
            : {}),
        });
      },
    );
  }

  async start(): Promise<void> {}

  /** The forwarding block with this node's limits applied (a request may ask for fewer hops, never more). */
  effective(forward: Forwarding | undefined): Forwarding | undefined {
    if (forward === undefined || !this.opts.config.enabled) return undefined;
    return { ...forward, hopLimit: Math.min(forward.hopLimit, this.opts.config.hopLimit) };
  }

  /**
   * Called with the local refusal. Rethrows it unchanged when forwarding does not apply; otherwise returns
   * the peer's result, or throws a refusal that says both why this node and why forwarding failed.
   */
  async forward(
    params: DeployParams & { forward?: Forwarding },
    refusal: IotFogError,
  ): Promise<DeployResult> {
    const forwarding = this.effective(params.forward);
    if (forwarding === undefined || !forwarding.allowed) throw refusal;
    const self = this.opts.selfNodeId;
    const tried: string[] = [];
    let lastProblem = "";
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const remembered = attempt === 0 ? this.remembered.get(params.deploymentId) : undefined;
      const peers = this.opts.peers().filter((p) => !tried.includes(p.nodeId));
      const pinned = remembered === undefined ? [] : peers.filter((p) => p.nodeId === remembered.nodeId);
      const decision = chooseForwardTarget({
        selfNodeId: self,
        spec: params.spec,
        deploymentId: params.deploymentId,
        replica: params.replica,
        forwarding,
        peers: pinned.length > 0 ? pinned : peers,
      });
      if (!decision.ok) {
        if (pinned.length > 0) {
          // The peer that took it last time cannot any more: choose afresh.
          this.remembered.delete(params.deploymentId);
          continue;
        }
        const why = tried.length > 0 ? `${lastProblem}; then ${decision.message}` : decision.message;
        throw new IotFogError(refusal.code, `${refusal.message}; forwarding: ${why}`, {
          ...refusal.details,
          forwarding: { reason: decision.reason, message: why, tried, explanation: decision.explanation },
        });
      }
      tried.push(decision.nodeId);
      const forwarded = { ...params, devices: decision.devices, forward: decision.next };
      try {
        const result = await this.send(
          decision.endpoint,
          forwarded,
          this.opts.config.timeoutMs,
          decision.nodeId,
        );
        const route = routeOf(result) ?? [...decision.next.visited, result.deployment.nodeId];
        this.remember(params.deploymentId, decision.nodeId, decision.endpoint);
        this.opts.bus.emit({
          type: "deploy.forwarded",
          message: `deploy ${params.deploymentId} (${params.spec.name}) could not run here; it landed on ${result.deployment.nodeId} (route ${route.join(" → ")})`,
          deploymentId: params.deploymentId,
          service: params.spec.name,
          peerId: decision.nodeId,
          data: { route, landedOn: result.deployment.nodeId, localRefusal: refusal.message },
        });
        return { ...result, route } as DeployResult;
      } catch (e) {
        const err = toIotFogError(e);
        lastProblem = `${decision.nodeId}: ${err.message}`;
        this.opts.logger.warn("forwarded deploy failed on a peer", {
          deploymentId: params.deploymentId,
          peer: decision.nodeId,
          error: err.message,
        });
        // A peer that refused with a reason (not a passing failure, not its own admission) said no on purpose:
        // report it as is.
        if (!err.retryable && err.code !== "ADMISSION_REFUSED") throw err;
      }
    }
    throw new IotFogError(refusal.code, `${refusal.message}; forwarding: ${lastProblem}`, {
      ...refusal.details,
      forwarding: { reason: "peers_failed", tried },
    });
  }

  private remember(deploymentId: string, nodeId: string, endpoint: string): void {
    this.remembered.delete(deploymentId);
    this.remembered.set(deploymentId, { nodeId, endpoint });
    if (this.remembered.size > REMEMBERED_FORWARDS) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
  }

  private async viaClient(
    endpoint: string,
    params: DeployParams,
    timeoutMs: number,
    nodeId: string,
  ): Promise<DeployResult> {
    const security = this.opts.security;
    let serverKey = "";
    if (security?.enabled === true) {
      // The peer's key from the driver's trust list: a key in its MQTT presence would prove nothing.
      const key = security.peerKey(nodeId);
      if (key === undefined) {
        throw new IotFogError(
          "UNAVAILABLE",
          `peer ${nodeId} is not an enrolled node in this node's trust list`,
        );
      }
      serverKey = key;
    }
    const client = this.clients.get(`${nodeId}|${serverKey}`, endpoint);
    // A fresh request id: the peer's deploy is idempotent by deployment id, which covers retries of the chain.
    return client.call("deploy", params, { timeoutMs });
  }

  async stop(): Promise<void> {
    await this.clients
      .closeAll()
      .catch((e: unknown) => this.opts.logger.debug("closing peer clients", { error: errorMessage(e) }));
  }
}

function routeOf(result: DeployResult): string[] | undefined {
  const route = (result as { route?: unknown }).route;
  return Array.isArray(route) && route.every((r) => typeof r === "string") ? route : undefined;
}
