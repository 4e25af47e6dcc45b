import mqtt, { type MqttClient } from "mqtt";
import {
  DEFAULT_LIMITS,
  IotFogError,
  LimitRefusals,
  RefusalLog,
  describeMqttConnection,
  errorMessage,
  mqttClientAuthOptions,
  nodeTopicFilter,
  parseNodeMessage,
  type Component,
  type Device,
  type Logger,
  type MqttConnection,
  type NodeCapabilities,
  type NodeMessage,
  type NodeTopicKind,
} from "@openiotfog/shared";
import type { EventLog } from "./events";
import type { FleetNode } from "./types";
import { UsageHistory, type NodeUsageHistory } from "./usage-history";

export interface FleetViewOptions {
  mqttUrl: string;
  username?: string | undefined;
  password?: string | undefined;
  topicPrefix: string;
  /** Offline after this long without presence or heartbeat, unless the node announced its own expiry. */
  nodeExpiryMs: number;
  /** How often expiry is checked. */
  sweepIntervalMs?: number;
  events: EventLog;
  logger: Logger;
  now?: () => number;
  /** Nodes kept; messages from further nodes are refused (counted, logged). Default DEFAULT_LIMITS.fleetNodes. */
  maxNodes?: number;
  /**
   * The broker connection (TLS, the driver's fleet credentials), resolved at start; default: mqttUrl with
   * username and password.
   */
  connection?: () => { connection: MqttConnection; warning?: string };
  /**
   * With security on: whether a payload as received is the enrolled node's own (its MAC). Messages it refuses
   * are dropped and counted, and an empty retained message cannot remove a node (docs/security.md, "MQTT").
   */
  authenticate?: (kind: NodeTopicKind, nodeId: string, raw: Record<string, unknown>) => boolean;
}

interface NodeEntry extends FleetNode {
  sessionId?: string;
  expiryMs: number;
}

export type FleetChangeListener = (nodeId: string) => void;

type Payload<K extends NodeMessage["kind"]> = Extract<NodeMessage, { kind: K; cleared: false }>["payload"];

/**
 * The fleet as the driver side sees it, from the agents' MQTT discovery topics: presence (online / offline,
 * the agent's endpoints), capability documents, heartbeats with live resources, and node events. Turns changes
 * into fleet events (node online/offline, device attached/detached, labels changed) on the event log. Free of
 * Open Baton types: the VIM driver, the fleet API and the GUI share it.
 */
export class FleetView implements Component {
  readonly name = "fleet-view";
  private readonly nodesById = new Map<string, NodeEntry>();
  private client: MqttClient | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly changeListeners = new Set<FleetChangeListener>();
  /** Messages of new nodes refused because the view was full. */
  readonly refusals: LimitRefusals;
  private readonly history = new UsageHistory();
  /** Messages refused because they were not the enrolled node's (unsigned, forged, cleared), by node. */
  readonly unauthenticated: RefusalLog;

  constructor(private readonly opts: FleetViewOptions) {
    this.now = opts.now ?? Date.now;
    this.refusals = new LimitRefusals("fleet view", opts.maxNodes ?? DEFAULT_LIMITS.fleetNodes, opts.logger);
    this.unauthenticated = new RefusalLog(opts.logger, "fleet view: MQTT message");
  }

  private resolveConnection(): MqttConnection {
    if (this.opts.connection === undefined) {
      const { mqttUrl: url, username, password } = this.opts;
      return {
        url,
        auth: username === undefined ? "anonymous" : "config",
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
      };
    }
    const { connection, warning } = this.opts.connection();
    if (warning !== undefined) this.opts.logger.warn(warning);
    return connection;
  }

  async start(): Promise<void> {
    const connection = this.resolveConnection();
    const client = mqtt.connect(connection.url, {
      ...mqttClientAuthOptions(connection),
      clientId: `iotfog-fleet-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
    });
    this.client = client;
    client.on("message", (topic, payload) => this.onMessage(topic, payload));
    let lastError: string | undefined;
    client.on("error", (e) => {
      lastError = errorMessage(e);
      this.opts.logger.warn("fleet view MQTT error", { error: lastError });
    });
    client.on("connect", () => {
      // Re-subscribing after every reconnect delivers the retained presence and capabilities again.
      client.subscribe(nodeTopicFilter(this.opts.topicPrefix, "#"), { qos: 1 }, (e) => {
        if (e) this.opts.logger.warn("fleet view cannot subscribe", { error: errorMessage(e) });
      });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          client.off("connect", onConnect);
          reject(
            new IotFogError(
              "UNAVAILABLE",
              `fleet view: MQTT broker ${connection.url} did not accept the connection in 10 s` +
                (lastError === undefined ? "" : ` (${lastError})`),
            ),
          );
        }, 10000);
        const onConnect = (): void => {
          clearTimeout(timer);
          resolve();
        };
        client.once("connect", onConnect);
      });
    } catch (e) {
      await client.endAsync(true);
      this.client = undefined;
      throw e;
    }
    this.sweep = setInterval(() => this.expire(), this.opts.sweepIntervalMs ?? 500);
    this.opts.logger.info("fleet view listening", {
      mqtt: describeMqttConnection(connection),
      prefix: this.opts.topicPrefix,
      signedMessagesOnly: this.opts.authenticate !== undefined,
    });
  }

  async stop(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(true);
  }

  /** Every known node, sorted by id. */
  nodes(): FleetNode[] {
    return [...this.nodesById.values()].sort((a, b) => a.nodeId.localeCompare(b.nodeId)).map(publicView);
  }

  node(nodeId: string): FleetNode | undefined {
    const n = this.nodesById.get(nodeId);
    return n === undefined ? undefined : publicView(n);
  }

  /** Called after any change of a node (presence, capabilities, liveness). */
  onChange(listener: FleetChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Feeds one MQTT message; public so the view can be driven without a broker in unit tests. */
  onMessage(topic: string, payload: Buffer | string): void {
    let message: NodeMessage | undefined;
    try {
      message = parseNodeMessage(this.opts.topicPrefix, topic, payload, this.opts.authenticate);
    } catch (e) {
      if (e instanceof IotFogError && e.code === "UNAUTHORIZED") {
        this.unauthenticated.record({
          address: topic,
          reason: "not-from-enrolled-node",
          detail: "unsigned, forged, or the node is not enrolled",
        });
        return;
      }
      this.opts.logger.warn("ignoring a bad fleet message", { topic, error: errorMessage(e) });
      return;
    }
    if (message === undefined) return;
    if (message.cleared && this.opts.authenticate !== undefined) {
      // Anyone may send an empty retained message; it proves nothing. A node leaves by its own signed
      // offline presence, by expiry, or by revocation.
      this.unauthenticated.record({
        address: topic,
        reason: "not-from-enrolled-node",
        detail: "an empty retained message cannot remove a node",
      });
      return;
    }
    if (
      !message.cleared &&
      !this.nodesById.has(message.nodeId) &&
      this.nodesById.size >= this.refusals.limit
    ) {
      this.refusals.refuse({ nodeId: message.nodeId, kind: message.kind });
      return;
    }
    if (message.cleared) {
      if (message.kind === "presence" && this.nodesById.delete(message.nodeId)) {
        this.history.forget(message.nodeId);
        this.changed(message.nodeId);
      }
      return;
    }
    switch (message.kind) {
      case "presence":
        this.onPresence(message.nodeId, message.payload);
        break;
      case "capabilities":
        this.onCapabilities(message.nodeId, message.payload.capabilities);
        break;
      case "heartbeat":
        this.onHeartbeat(message.nodeId, message.payload);
        break;
      case "events":
        this.onNodeEvent(message.nodeId, message.payload.type, message.payload.data);
        break;
      case "usage":
        this.onUsage(message.nodeId, message.payload);
        break;
    }
  }

  private entry(nodeId: string): NodeEntry {
    let n = this.nodesById.get(nodeId);
    if (n === undefined) {
      n = { nodeId, online: false, lastSeen: this.now(), expiryMs: this.opts.nodeExpiryMs };
      this.nodesById.set(nodeId, n);
    }
    return n;
  }

  private onPresence(nodeId: string, p: Payload<"presence">): void {
    const n = this.entry(nodeId);
    if (p.state === "offline") {
      // A last-will of an older session must not take down the agent that has since restarted.
      if (n.sessionId !== undefined && p.sessionId !== n.sessionId) return;
      this.setOffline(n, p.reason ?? "shutdown");
      return;
    }
    n.sessionId = p.sessionId;
    n.lastSeen = this.now();
    n.expiryMs = p.expiryMs;
    n.agentVersion = p.agentVersion;
    if (p.endpoint !== undefined) n.endpoint = p.endpoint;
    // Each session announces what it serves now (an older agent announces nothing beyond its endpoint).
    if (p.endpoints !== undefined) n.endpoints = p.endpoints;
    else delete n.endpoints;
    this.setOnline(n, p.reason === "reconnect" ? "back online" : "online");
    this.changed(nodeId);
  }

  private onCapabilities(nodeId: string, caps: NodeCapabilities): void {
    const n = this.entry(nodeId);
    const before = n.capabilities;
    n.capabilities = caps;
    if (before !== undefined) {
      this.diffDevices(nodeId, before.devices, caps.devices);
      this.diffLabels(nodeId, before.labels, caps.labels);
      this.opts.events.publish({ type: "node.updated", nodeId, message: `${nodeId}: capabilities updated` });
    }
    this.changed(nodeId);
  }

  private onHeartbeat(nodeId: string, h: Payload<"heartbeat">): void {
    const n = this.entry(nodeId);
    // A heartbeat proves the session is alive, even when its presence was missed.
    n.sessionId = h.sessionId;
    n.lastSeen = this.now();
    n.live = h.resources;
    n.agentDeployments = h.deployments;
    if (!n.online && n.endpoint !== undefined) this.setOnline(n, "back online (heartbeat)");
    this.changed(nodeId);
  }

  /** Figures only: a usage message does not prove liveness (presence and heartbeats do). */
  private onUsage(nodeId: string, u: Payload<"usage">): void {
    const n = this.entry(nodeId);
    const t = this.now();
    n.usage = { at: t, intervalMs: u.intervalMs, ...u.node };
    n.containers = u.containers;
    this.history.record(
      nodeId,
      {
        t,
        ...(u.node.cpuBusyCores === undefined ? {} : { cpuBusyCores: u.node.cpuBusyCores }),
        memoryUsedBytes: u.node.memoryUsedBytes,
      },
      { cpuCores: u.node.cpuCores, memoryTotalBytes: u.node.memoryTotalBytes, intervalMs: u.intervalMs },
    );
  }

  /** The last minutes of every node's CPU and memory received after `since` (epoch ms). */
  usageHistory(since = 0): { now: number; windowMs: number; nodes: NodeUsageHistory[] } {
    const now = this.now();
    return { now, windowMs: this.history.windowMs, nodes: this.history.since(since, now) };
  }

  private onNodeEvent(nodeId: string, type: string, data: Record<string, unknown>): void {
    // Device hot-plug is reported from the capability diff (it carries the full device); the rest is forwarded.
    if (type === "device.added" || type === "device.removed" || type === "capabilities.changed") return;
    const deploymentId = typeof data.deploymentId === "string" ? data.deploymentId : undefined;
    this.opts.events.publish({
      type: "agent.event",
      nodeId,
      ...(deploymentId === undefined ? {} : { deploymentId }),
      message: `${nodeId}: ${type}${deploymentId === undefined ? "" : ` ${deploymentId}`}`,
      data: { agentType: type, ...data },
    });
  }

  private diffDevices(nodeId: string, before: Device[], after: Device[]): void {
    const old = new Map(before.map((d) => [d.id, d]));
    const now = new Map(after.map((d) => [d.id, d]));
    for (const [id, d] of now) {
      if (old.has(id)) continue;
      this.opts.events.publish({
        type: "device.attached",
        nodeId,
        message: `${nodeId}: device attached: ${describeDevice(d)}`,
        data: { device: d },
      });
    }
    for (const [id, d] of old) {
      if (now.has(id)) continue;
      this.opts.events.publish({
        type: "device.detached",
        nodeId,
        message: `${nodeId}: device detached: ${describeDevice(d)}`,
        data: { device: d },
      });
    }
  }

  private diffLabels(nodeId: string, before: Record<string, string>, after: Record<string, string>): void {
    const changes: string[] = [];
    for (const [k, v] of Object.entries(after)) if (before[k] !== v) changes.push(`${k}=${v}`);
    for (const k of Object.keys(before)) if (!(k in after)) changes.push(`-${k}`);
    if (changes.length === 0) return;
    this.opts.events.publish({
      type: "node.labels",
      nodeId,
      message: `${nodeId}: labels ${changes.join(", ")}`,
      data: { labels: after },
    });
  }

  private setOnline(n: NodeEntry, why: string): void {
    if (n.online) return;
    n.online = true;
    delete n.offlineReason;
    this.opts.events.publish({ type: "node.online", nodeId: n.nodeId, message: `${n.nodeId} is ${why}` });
  }

  private setOffline(n: NodeEntry, reason: string): void {
    if (!n.online) {
      n.offlineReason ??= reason;
      return;
    }
    n.online = false;
    n.offlineReason = reason;
    this.opts.events.publish({
      type: "node.offline",
      nodeId: n.nodeId,
      message: `${n.nodeId} went offline (${reason})`,
      data: { reason },
    });
    this.changed(n.nodeId);
  }

  /** Marks nodes offline that have been silent longer than their expiry. */
  expire(): void {
    const now = this.now();
    for (const n of this.nodesById.values()) {
      if (n.online && now - n.lastSeen > n.expiryMs) this.setOffline(n, "expired");
    }
  }

  private changed(nodeId: string): void {
    for (const l of this.changeListeners) {
      try {
        l(nodeId);
      } catch (e) {
        this.opts.logger.warn("fleet change listener failed", { error: errorMessage(e) });
      }
    }
  }
}

function publicView(n: NodeEntry): FleetNode {
  const { sessionId: _s, expiryMs: _e, ...rest } = n;
  return structuredClone(rest);
}

/** `zigbee 10c4:ea60 (Sonoff Dongle) at /dev/serial/by-id/...` */
export function describeDevice(d: Device): string {
  const ids = d.vendorId !== undefined && d.productId !== undefined ? ` ${d.vendorId}:${d.productId}` : "";
  const name = d.product ?? d.vendor ?? "";
  return `${d.class}${ids}${name ? ` (${name})` : ""} at ${d.stablePath ?? d.path}`;
}
