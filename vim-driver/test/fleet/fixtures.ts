/**
 * A broker-less FleetView for unit tests, driven through `onMessage`, and the discovery messages agents publish
 * (presence, capabilities, heartbeat) for one node.
 */
import { createLogger, type NodeCapabilitiesInput } from "@openiotfog/shared";
import { EventLog } from "../../src/fleet/events";
import { FleetView } from "../../src/fleet/fleet-view";

export const TOPIC_PREFIX = "t";
const logger = createLogger({ component: "test", silent: true });

/** A FleetView that never connects (nodes expire after 5 s); `now` drives its clock. */
export function testFleetView(opts: { events?: EventLog; now?: () => number } = {}): FleetView {
  return new FleetView({
    mqttUrl: "mqtt://unused",
    topicPrefix: TOPIC_PREFIX,
    nodeExpiryMs: 5000,
    events: opts.events ?? new EventLog(),
    logger,
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
}

/** The header of every discovery message. */
export const header = (nodeId: string, sessionId = "s1") => ({ v: 1, nodeId, ts: 1, sessionId });

/** A 4-core arm64 node: 4 GB memory (3 free), 32 GB disk (20 free). */
export function capabilities(
  nodeId: string,
  extra: Partial<NodeCapabilitiesInput> = {},
): NodeCapabilitiesInput {
  return {
    schemaVersion: 1,
    nodeId,
    hostname: `${nodeId}.local`,
    platform: { arch: "arm64", os: "linux" },
    agentVersion: "0.1.0",
    resources: {
      cpu: { cores: 4 },
      memory: { totalBytes: 4e9, freeBytes: 3e9 },
      disk: { totalBytes: 32e9, freeBytes: 20e9 },
    },
    ...extra,
  };
}

export function capabilitiesMessage(nodeId: string, extra: Partial<NodeCapabilitiesInput> = {}): string {
  return JSON.stringify({ ...header(nodeId), capabilities: capabilities(nodeId, extra) });
}

export function presenceMessage(
  nodeId: string,
  state: "online" | "offline",
  opts: { sessionId?: string; reason?: string; endpoint?: string; endpoints?: Record<string, string> } = {},
): string {
  return JSON.stringify({
    ...header(nodeId, opts.sessionId),
    state,
    ...(opts.reason ? { reason: opts.reason } : {}),
    agentVersion: "0.1.0",
    ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
    ...(opts.endpoints === undefined ? {} : { endpoints: opts.endpoints }),
    protocolVersion: 1,
    startedAt: 1,
    heartbeatIntervalMs: 1000,
    expiryMs: 3000,
  });
}

/** A heartbeat of a 4-core node with 4 GB memory and 32 GB disk, `free` of them free. */
export function heartbeatMessage(
  nodeId: string,
  free: { memoryBytes: number; diskBytes: number },
  deployments = { total: 0, running: 0 },
): string {
  return JSON.stringify({
    ...header(nodeId),
    seq: 1,
    uptimeMs: 10,
    resources: {
      memory: { totalBytes: 4e9, freeBytes: free.memoryBytes },
      disk: { totalBytes: 32e9, freeBytes: free.diskBytes },
      load: [0.1, 0.2, 0.3],
      cpuCores: 4,
    },
    deployments,
  });
}
