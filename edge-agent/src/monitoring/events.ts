import { z } from "zod";

/**
 * Agent events: what the monitoring agent records and publishes (winston log, MQTT events topic, ZeroMQ PUB
 * socket, REST history and SSE stream). One schema for all of them so a consumer parses one shape wherever
 * it listens. Documented in docs/agent-events.md.
 */
export const AGENT_EVENT_VERSION = 1 as const;

export const agentEventTypes = [
  "container.created",
  "container.started",
  "container.died",
  "container.oom",
  "container.health",
  "device.attached",
  "device.detached",
  "deployment.degraded",
  "deployment.restored",
  "admission.refused",
  /** A deploy the node's host-safety policy refused (docs/security.md). */
  "policy.refused",
  "deploy.forwarded",
  "peer.appeared",
  "peer.lost",
  "hardware.event.rejected",
] as const;
export type AgentEventType = (typeof agentEventTypes)[number];

export const eventSeverities = ["info", "warn", "error"] as const;
export type EventSeverity = (typeof eventSeverities)[number];

export const agentEventSchema = z
  .object({
    v: z.literal(AGENT_EVENT_VERSION),
    /** Increasing per agent process; SSE clients resume with it (Last-Event-ID). */
    seq: z.number().int().positive(),
    /** Unique across restarts: `<nodeId>:<boot>:<seq>`. */
    id: z.string().min(1),
    type: z.enum(agentEventTypes),
    severity: z.enum(eventSeverities),
    nodeId: z.string().min(1),
    /** ISO-8601 time the agent recorded it. */
    time: z.string().min(1),
    /** One sentence for an operator. */
    message: z.string(),
    deploymentId: z.string().optional(),
    service: z.string().optional(),
    containerId: z.string().optional(),
    deviceId: z.string().optional(),
    peerId: z.string().optional(),
    /** Type-specific detail (exit code, health status, the device, the placement explanation...). */
    data: z.record(z.unknown()).default({}),
  })
  .strict();
export type AgentEvent = z.output<typeof agentEventSchema>;

/** What a producer hands to the bus; the bus adds version, sequence, id, node and time. */
export interface AgentEventInput {
  type: AgentEventType;
  severity?: EventSeverity;
  message: string;
  deploymentId?: string;
  service?: string;
  containerId?: string;
  deviceId?: string;
  peerId?: string;
  data?: Record<string, unknown>;
}

/** Default severity per type, so producers only say it when it differs. */
export function defaultSeverity(type: AgentEventType): EventSeverity {
  switch (type) {
    case "container.died":
    case "device.detached":
    case "deployment.degraded":
    case "admission.refused":
    case "policy.refused":
    case "peer.lost":
    case "hardware.event.rejected":
      return "warn";
    case "container.oom":
      return "error";
    default:
      return "info";
  }
}

/** Filters for history queries (REST `GET /api/v1/events`). */
export interface EventFilter {
  /** Only events with seq greater than this. */
  afterSeq?: number;
  /** Type names or prefixes ending in `.`, e.g. `container.` */
  types?: string[];
  deploymentId?: string;
  limit?: number;
}

export function matchesFilter(event: AgentEvent, filter: EventFilter): boolean {
  if (filter.afterSeq !== undefined && event.seq <= filter.afterSeq) return false;
  if (filter.deploymentId !== undefined && event.deploymentId !== filter.deploymentId) return false;
  if (filter.types !== undefined && filter.types.length > 0) {
    const ok = filter.types.some((t) => (t.endsWith(".") ? event.type.startsWith(t) : event.type === t));
    if (!ok) return false;
  }
  return true;
}
