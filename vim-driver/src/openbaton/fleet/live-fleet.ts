import mqtt, { type MqttClient } from "mqtt";
import {
  errorMessage,
  nodeTopicFilter,
  parseNodeMessage,
  type Component,
  type HeartbeatPayload,
  type Logger,
  type NodeCapabilities,
  type PresencePayload,
} from "@openiotfog/shared";
import type { FleetNode } from "../../fleet/types";

/** What the driver knows about one node, from its MQTT presence, capabilities and heartbeats. */
export interface ObservedNode {
  nodeId: string;
  presence?: PresencePayload;
  capabilities?: NodeCapabilities;
  heartbeat?: HeartbeatPayload;
  /** When we last heard from it (ms, our clock). */
  lastSeen: number;
}

/** A node we may place on and talk to: online, recently heard from, with capabilities and an endpoint. */
export interface LiveNode {
  nodeId: string;
  endpoint: string;
  capabilities: NodeCapabilities;
  heartbeat?: HeartbeatPayload;
}

export interface LiveFleetOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  topicPrefix: string;
  /** Used when a node's presence does not say after how long it should be expired. */
  nodeExpiryMs: number;
}

/**
 * The VIM driver's view of the fleet, learnt from the agents' MQTT discovery topics (shared/src/mqtt). A node is
 * live while its presence says online and it has been heard from within its expiry; the last-will (offline)
 * or silence removes it. Capabilities are refreshed with the live memory / disk of each heartbeat.
 */
export class LiveFleet implements Component {
  readonly name = "openbaton-fleet";
  private client: MqttClient | undefined;
  private readonly nodes = new Map<string, ObservedNode>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly opts: LiveFleetOptions,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const client = mqtt.connect(this.opts.url, {
      ...(this.opts.username === undefined ? {} : { username: this.opts.username }),
      ...(this.opts.password === undefined ? {} : { password: this.opts.password }),
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      clientId: `iotfog-driver-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
    });
    this.client = client;
    client.on("message", (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
    client.on("error", (e) => this.logger.warn("MQTT error", { error: errorMessage(e) }));
    client.on("connect", () => {
      // Subscribing again on every (re)connect brings the retained presence / capabilities back.
      client.subscribe(nodeTopicFilter(this.opts.topicPrefix, "#"), { qos: 1 }, (err) => {
        if (err) this.logger.warn("MQTT subscribe failed", { error: errorMessage(err) });
      });
    });
    // The broker may come up later: the driver serves Open Baton meanwhile with an empty fleet.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      client.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (!client.connected)
      this.logger.warn("MQTT broker not reachable yet, retrying", { url: this.opts.url });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(true);
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    let msg;
    try {
      msg = parseNodeMessage(this.opts.topicPrefix, topic, payload);
    } catch (e) {
      this.logger.warn("ignored an invalid discovery message", { topic, error: errorMessage(e) });
      return;
    }
    if (msg === undefined || msg.kind === "events") return;
    const now = Date.now();
    const node = this.nodes.get(msg.nodeId) ?? { nodeId: msg.nodeId, lastSeen: 0 };
    if (msg.cleared) {
      if (msg.kind === "presence") this.nodes.delete(msg.nodeId);
      else if (msg.kind === "capabilities") delete node.capabilities;
      this.notify();
      return;
    }
    // A retained message may be old: count it as heard-from when it was sent, not when we subscribed.
    const heardAt = retained ? Math.min(now, msg.payload.ts) : now;
    switch (msg.kind) {
      case "presence":
        // A stale last-will of an older session must not take a restarted agent offline.
        if (
          node.presence &&
          msg.payload.state === "offline" &&
          node.presence.sessionId !== msg.payload.sessionId &&
          node.presence.state === "online"
        ) {
          return;
        }
        node.presence = msg.payload;
        break;
      case "capabilities":
        node.capabilities = msg.payload.capabilities;
        break;
      case "heartbeat":
        node.heartbeat = msg.payload;
        break;
    }
    node.lastSeen = Math.max(node.lastSeen, heardAt);
    this.nodes.set(msg.nodeId, node);
    this.notify();
  }

  /** Called on every change, e.g. to wake a wait for nodes. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  /** Every node we have heard of, live or not (for status output). */
  all(): ObservedNode[] {
    return [...this.nodes.values()];
  }

  /** Live nodes, with capabilities whose free memory / disk come from the latest heartbeat. */
  live(now = Date.now()): LiveNode[] {
    const out: LiveNode[] = [];
    for (const node of this.nodes.values()) {
      const p = node.presence;
      if (p?.state !== "online" || p.endpoint === undefined || node.capabilities === undefined) continue;
      const expiry = p.expiryMs ?? this.opts.nodeExpiryMs;
      if (now - node.lastSeen > expiry) continue;
      const hb = node.heartbeat;
      const capabilities: NodeCapabilities =
        hb === undefined || hb.sessionId !== p.sessionId
          ? node.capabilities
          : {
              ...node.capabilities,
              resources: {
                ...node.capabilities.resources,
                memory: { ...hb.resources.memory },
                disk: { ...node.capabilities.resources.disk, ...hb.resources.disk },
              },
            };
      out.push({
        nodeId: node.nodeId,
        endpoint: p.endpoint,
        capabilities,
        ...(hb === undefined ? {} : { heartbeat: hb }),
      });
    }
    return out.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  liveNode(nodeId: string): LiveNode | undefined {
    return this.live().find((n) => n.nodeId === nodeId);
  }

  /** The node as the shared AgentPool (fleet/agents.ts) looks it up: online = live. */
  asFleetNode(nodeId: string): FleetNode | undefined {
    const node = this.nodes.get(nodeId);
    if (node === undefined) return undefined;
    const live = this.liveNode(nodeId);
    return {
      nodeId,
      online: live !== undefined,
      lastSeen: node.lastSeen,
      ...(live === undefined
        ? { offlineReason: node.presence?.reason ?? "expired" }
        : { endpoint: live.endpoint }),
    };
  }
}
