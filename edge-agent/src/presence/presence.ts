import { randomUUID } from "node:crypto";
import os from "node:os";
import mqtt, { type MqttClient } from "mqtt";
import {
  IOTFOG_VERSION,
  MQTT_PAYLOAD_VERSION,
  PROTOCOL_VERSION,
  describeMqttConnection,
  encodeNodePayload,
  errorMessage,
  mqttClientAuthOptions,
  nodeTopic,
  nodeTopicFilter,
  parseNodeMessage,
  resolveMqttConnection,
  type Component,
  type Logger,
  type MqttFleetCredentials,
  type NodeEventType,
  type NodeTopicKind,
  type UsagePayload,
  type PresenceEndpoints,
  type PresencePayload,
} from "@openiotfog/shared";
import type { AgentConfig } from "../config";
import type { CapabilityService } from "../discovery/service";
import { PeerTable } from "./peers";

/** Events kept for MQTT while it has not started yet (start-up reconcile: a few per saved deployment). */
const MAX_EARLY_EVENTS = 64;

export interface PresenceDeps {
  config: AgentConfig;
  capabilities: CapabilityService;
  /** The command endpoint's advertised address. */
  endpoint: () => string;
  /** Every address the agent serves (command, hardware events, events PUB, REST); default: the command one. */
  endpoints?: () => PresenceEndpoints;
  /** Deployment counts for heartbeats. */
  deployments: () => Promise<{ total: number; running: number }>;
  logger: Logger;
  /** The node's security: its MQTT credentials from enrollment and the MAC on what it publishes. */
  security?: {
    mqttCredentials(): MqttFleetCredentials | undefined;
    signMqtt(kind: NodeTopicKind, payload: Record<string, unknown>): Record<string, unknown>;
  };
}

/**
 * MQTT discovery and presence: a retained `online` presence and capability document on every (re)connect, a
 * retained `offline` last-will the broker publishes when the agent dies, heartbeats with live resources, and
 * the table of peers heard on the same topics. The agent starts and runs without a broker (offline-first);
 * MQTT.js keeps reconnecting and everything is republished when it comes back.
 */
export class MqttPresence implements Component {
  readonly name = "mqtt-presence";
  /** Random per process: tells observers a restart from a reconnect, and a stale last-will from a live node. */
  readonly sessionId = randomUUID();
  readonly peers: PeerTable;
  private client: MqttClient | undefined;
  /**
   * Events raised before MQTT starts (the start-up reconcile runs first, offline-first): sent once the client
   * exists, so a saved deployment refused at start is reported, not only logged. Bounded.
   */
  private early: Array<{ type: NodeEventType; data: Record<string, unknown> }> = [];
  private readonly startedAt = Date.now();
  private connects = 0;
  /** The endpoints in the last online presence published, to republish only when they change. */
  private announced = "";
  private seq = 0;
  private timers: NodeJS.Timeout[] = [];
  private readonly prefix: string;
  private readonly nodeId: string;
  private readonly onCapabilities = (): void => void this.publishCapabilities();

  constructor(private readonly deps: PresenceDeps) {
    this.prefix = deps.config.mqtt.topicPrefix;
    this.nodeId = deps.config.nodeId;
    this.peers = new PeerTable(this.nodeId, deps.config.presence.expiryMs, { logger: deps.logger });
  }

  private topic(kind: NodeTopicKind): string {
    return nodeTopic(this.prefix, this.nodeId, kind);
  }

  private presence(state: "online" | "offline", reason: PresencePayload["reason"]): string {
    const payload: PresencePayload = {
      v: MQTT_PAYLOAD_VERSION,
      nodeId: this.nodeId,
      ts: Date.now(),
      sessionId: this.sessionId,
      state,
      reason,
      hostname: os.hostname(),
      agentVersion: IOTFOG_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      startedAt: this.startedAt,
      heartbeatIntervalMs: this.deps.config.presence.heartbeatIntervalMs,
      expiryMs: this.deps.config.presence.expiryMs,
    };
    if (state === "online") {
      payload.endpoint = this.deps.endpoint();
      payload.endpoints = this.endpoints();
      this.announced = JSON.stringify(payload.endpoints);
    }
    return this.encode("presence", payload);
  }

  /** Validated, and signed by the node when security is on. */
  encode(kind: NodeTopicKind, payload: unknown): string {
    const security = this.deps.security;
    return encodeNodePayload(
      kind,
      payload,
      security === undefined ? undefined : (k, p) => security.signMqtt(k, p),
    );
  }

  private endpoints(): PresenceEndpoints {
    return { ...this.deps.endpoints?.(), commands: this.deps.endpoint() };
  }

  /**
   * Republishes the online presence when the agent's endpoints changed since it was last published: the
   * hardware, events and REST endpoints bind after MQTT (they are optional and must not delay the node's
   * announcement), so the agent calls this once they are up, and the retained presence lists them all.
   */
  async announceEndpoints(): Promise<void> {
    const client = this.client;
    if (client === undefined || !client.connected) return; // the next (re)connect publishes them
    if (JSON.stringify(this.endpoints()) === this.announced) return;
    const reason = this.connects <= 1 ? "startup" : "reconnect";
    await client
      .publishAsync(this.topic("presence"), this.presence("online", reason), { qos: 1, retain: true })
      .catch((e: unknown) => {
        this.deps.logger.warn("republishing presence failed", { error: errorMessage(e) });
      });
  }

  /** MQTT connections made since start (metrics: the ones after the first are reconnects). */
  get connections(): number {
    return this.connects;
  }

  async start(): Promise<void> {
    const { mqtt: m } = this.deps.config;
    const { connection, warning } = resolveMqttConnection(m, this.deps.security?.mqttCredentials());
    if (warning !== undefined) this.deps.logger.warn(warning);
    this.deps.logger.info("MQTT", describeMqttConnection(connection));
    const client = mqtt.connect(connection.url, {
      // A fixed client id: a restarted agent takes over its old session, so the broker settles the old
      // last-will before our new `online` instead of publishing it later over it.
      clientId: `iotfog-agent-${this.nodeId}`,
      clean: true,
      // mqtt-packet otherwise pre-builds 65,536 two-byte buffers for message ids: ~6 MiB of heap for a client
      // that publishes a few messages a second.
      writeCache: false,
      keepalive: m.keepaliveSeconds,
      reconnectPeriod: m.reconnectPeriodMs,
      connectTimeout: m.connectTimeoutMs,
      ...mqttClientAuthOptions(connection),
      will: {
        topic: this.topic("presence"),
        payload: Buffer.from(this.presence("offline", "lost")),
        qos: 1,
        retain: true,
      },
    });
    this.client = client;
    for (const e of this.early.splice(0)) this.publishEvent(e.type, e.data);
    client.on("connect", () => void this.onConnect(client));
    client.on("message", (topic, payload) => this.onMessage(topic, payload));
    client.on("error", (e) => this.deps.logger.warn("MQTT error", { error: e.message }));
    client.on("offline", () => this.deps.logger.warn("MQTT broker unreachable; retrying", { url: m.url }));
    this.deps.capabilities.on("changed", this.onCapabilities);
    const { heartbeatIntervalMs, expiryMs } = this.deps.config.presence;
    this.timers.push(
      setInterval(() => void this.heartbeat(), heartbeatIntervalMs),
      setInterval(
        () => this.peers.sweep(Date.now()),
        Math.max(100, Math.min(1000, Math.floor(expiryMs / 4))),
      ),
    );
    // Wait briefly for the first connection so a healthy start announces itself at once; never fail on it.
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off("connect", done);
        resolve();
      };
      const timer = setTimeout(done, m.connectTimeoutMs);
      client.once("connect", done);
    });
    if (!client.connected)
      this.deps.logger.warn("MQTT broker not reachable at start; running offline", { url: m.url });
  }

  private async onConnect(client: MqttClient): Promise<void> {
    this.connects += 1;
    const reason = this.connects === 1 ? "startup" : "reconnect";
    try {
      await client.publishAsync(this.topic("presence"), this.presence("online", reason), {
        qos: 1,
        retain: true,
      });
      await this.publishCapabilities();
      await client.subscribeAsync(
        ["presence", "capabilities", "heartbeat"].map((k) =>
          nodeTopicFilter(this.prefix, k as "presence" | "capabilities" | "heartbeat"),
        ),
        { qos: 1 },
      );
      this.deps.logger.info("announced on MQTT", { reason, endpoints: this.endpoints() });
    } catch (e) {
      this.deps.logger.warn("announce failed; will retry on reconnect", { error: errorMessage(e) });
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    try {
      const message = parseNodeMessage(this.prefix, topic, payload);
      if (message === undefined) return;
      if (message.nodeId === this.nodeId) {
        // Our own presence reads offline while we are connected: a late last-will of an older session, or a
        // broker that lost its retained state. Say we are here again.
        if (message.kind === "presence" && (message.cleared || message.payload.state === "offline")) {
          void this.client?.publishAsync(this.topic("presence"), this.presence("online", "reconnect"), {
            qos: 1,
            retain: true,
          });
        }
        return;
      }
      this.peers.apply(message, Date.now());
    } catch (e) {
      this.deps.logger.debug("ignored invalid discovery message", { topic, error: errorMessage(e) });
    }
  }

  private async publishCapabilities(): Promise<void> {
    const client = this.client;
    if (client === undefined || !client.connected) return;
    const payload = this.encode("capabilities", {
      v: MQTT_PAYLOAD_VERSION,
      nodeId: this.nodeId,
      ts: Date.now(),
      sessionId: this.sessionId,
      capabilities: this.deps.capabilities.current(),
    });
    await client
      .publishAsync(this.topic("capabilities"), payload, { qos: 1, retain: true })
      .catch((e: unknown) => {
        this.deps.logger.warn("publishing capabilities failed", { error: errorMessage(e) });
      });
  }

  private async heartbeat(): Promise<void> {
    const client = this.client;
    if (client === undefined || !client.connected) return;
    try {
      const payload = this.encode("heartbeat", {
        v: MQTT_PAYLOAD_VERSION,
        nodeId: this.nodeId,
        ts: Date.now(),
        sessionId: this.sessionId,
        seq: this.seq++,
        uptimeMs: Date.now() - this.startedAt,
        resources: await this.deps.capabilities.live(),
        deployments: await this.deps.deployments().catch(() => ({ total: 0, running: 0 })),
      });
      await client.publishAsync(this.topic("heartbeat"), payload, { qos: 0 });
    } catch (e) {
      this.deps.logger.debug("heartbeat failed", { error: errorMessage(e) });
    }
  }

  /**
   * Publishes the node's and its containers' figures on the usage topic: QoS 0 and only while connected, as
   * heartbeats (figures a broker outage held back are stale by the time it ends).
   */
  async publishUsage(figures: Omit<UsagePayload, "v" | "nodeId" | "ts" | "sessionId">): Promise<void> {
    const client = this.client;
    if (client === undefined || !client.connected) return;
    const payload = this.encode("usage", {
      v: MQTT_PAYLOAD_VERSION,
      nodeId: this.nodeId,
      ts: Date.now(),
      sessionId: this.sessionId,
      ...figures,
    });
    await client.publishAsync(this.topic("usage"), payload, { qos: 0 });
  }

  /** Publishes a node event (not retained). Queued by MQTT.js while the broker is away. */
  publishEvent(type: NodeEventType, data: Record<string, unknown>): void {
    const client = this.client;
    if (client === undefined) {
      if (this.early.length < MAX_EARLY_EVENTS) this.early.push({ type, data });
      return;
    }
    const payload = this.encode("events", {
      v: MQTT_PAYLOAD_VERSION,
      nodeId: this.nodeId,
      ts: Date.now(),
      sessionId: this.sessionId,
      type,
      data,
    });
    client.publish(this.topic("events"), payload, { qos: 1 });
  }

  /** Raw publish on the agent's connection (QoS 1, not retained), for other parts of the agent. */
  async publish(topic: string, payload: string): Promise<void> {
    if (this.client === undefined) return;
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.deps.capabilities.off("changed", this.onCapabilities);
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    if (client.connected) {
      // Say goodbye so peers do not wait for the keepalive; the broker discards the last-will on a clean end.
      await client
        .publishAsync(this.topic("presence"), this.presence("offline", "shutdown"), { qos: 1, retain: true })
        .catch(() => undefined);
    }
    await client.endAsync(!client.connected);
  }
}
