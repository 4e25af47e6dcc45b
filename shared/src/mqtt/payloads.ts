import { z } from "zod";
import { IotFogError, errorMessage } from "../errors";
import { describeZodError } from "../validation";
import { nodeCapabilitiesSchema } from "../capabilities/model";
import { parseNodeTopic, type NodeTopicKind } from "./topics";

/**
 * Payloads of the discovery topics (JSON, UTF-8). Each carries `v` (payload schema version), the node id (must
 * match the topic), `ts` (sender's epoch ms) and `sessionId` (random per agent process start: a new session
 * means the agent restarted; observers use it to ignore a stale last-will from an older session).
 */
export const MQTT_PAYLOAD_VERSION = 1 as const;

const base = {
  v: z.literal(MQTT_PAYLOAD_VERSION),
  nodeId: z.string().min(1),
  ts: z.number().int().nonnegative(),
  sessionId: z.string().min(1),
};

const zmqAddress = z
  .string()
  .regex(/^(tcp|ipc):\/\/\S+$/, "must be a ZeroMQ address such as tcp://10.0.0.7:5555");

/**
 * Every address the agent serves (online presence only). Absent in presence from agents older than this field.
 * Keys beyond these are accepted (string values), so a newer agent can advertise another endpoint without
 * making this version of the schema reject its presence.
 */
export const presenceEndpointsSchema = z
  .object({
    /** The ZeroMQ command endpoint (ROUTER), the same address as `endpoint`. */
    commands: zmqAddress,
    /** Where hardware listeners publish device events (ZeroMQ SUB the agent binds). */
    hardwareEvents: zmqAddress.optional(),
    /** The monitoring events PUB socket: `[type, JSON]` frames of every agent event. */
    events: zmqAddress.optional(),
    /** The agent's local REST API. */
    rest: z
      .string()
      .url("must be a URL such as http://10.0.0.7:8470")
      .regex(/^https?:\/\//, "must be an http(s) URL")
      .optional(),
  })
  .catchall(z.string().min(1, "must not be empty"));
export type PresenceEndpoints = z.infer<typeof presenceEndpointsSchema>;

export const presencePayloadSchema = z
  .object({
    ...base,
    state: z.enum(["online", "offline"]),
    /** Why offline: `shutdown` (said goodbye) or `lost` (the broker published the last-will). */
    reason: z.enum(["startup", "reconnect", "shutdown", "lost"]).optional(),
    hostname: z.string().optional(),
    agentVersion: z.string(),
    /** The ZeroMQ command endpoint clients connect to, e.g. tcp://10.0.0.7:5555 (online only). */
    endpoint: z.string().optional(),
    /** Every endpoint the agent serves (online only); optional, so older agents' presence stays valid. */
    endpoints: presenceEndpointsSchema.optional(),
    protocolVersion: z.number().int().positive(),
    startedAt: z.number().int().nonnegative(),
    /** How often this node sends heartbeats and after how long without one observers should expire it. */
    heartbeatIntervalMs: z.number().int().positive(),
    expiryMs: z.number().int().positive(),
  })
  .strict();
export type PresencePayload = z.infer<typeof presencePayloadSchema>;

export const capabilitiesPayloadSchema = z.object({ ...base, capabilities: nodeCapabilitiesSchema }).strict();
export type CapabilitiesPayload = z.infer<typeof capabilitiesPayloadSchema>;

export const liveResourcesSchema = z
  .object({
    memory: z.object({ totalBytes: z.number().nonnegative(), freeBytes: z.number().nonnegative() }).strict(),
    disk: z.object({ totalBytes: z.number().nonnegative(), freeBytes: z.number().nonnegative() }).strict(),
    /** 1, 5 and 15 minute load averages. */
    load: z.tuple([z.number(), z.number(), z.number()]),
    cpuCores: z.number().positive(),
  })
  .strict();
export type LiveResources = z.infer<typeof liveResourcesSchema>;

export const heartbeatPayloadSchema = z
  .object({
    ...base,
    seq: z.number().int().nonnegative(),
    uptimeMs: z.number().int().nonnegative(),
    resources: liveResourcesSchema,
    deployments: z
      .object({ total: z.number().int().nonnegative(), running: z.number().int().nonnegative() })
      .strict(),
  })
  .strict();
export type HeartbeatPayload = z.infer<typeof heartbeatPayloadSchema>;

export const nodeEventTypes = [
  "device.added",
  "device.removed",
  "capabilities.changed",
  "deployment.created",
  "deployment.started",
  "deployment.stopped",
  "deployment.removed",
  "deployment.recreated",
  "deployment.adopted",
  "deployment.failed",
] as const;
export type NodeEventType = (typeof nodeEventTypes)[number];

export const eventPayloadSchema = z
  .object({
    ...base,
    /** Known types are listed in nodeEventTypes; newer agents may send others, so any name is accepted. */
    type: z.string().regex(/^[a-z]+(\.[a-z-]+)+$/, "must be a dotted lower-case event name"),
    data: z.record(z.unknown()).default({}),
  })
  .strict();
export type EventPayload = z.infer<typeof eventPayloadSchema>;

const payloadSchemas = {
  presence: presencePayloadSchema,
  capabilities: capabilitiesPayloadSchema,
  heartbeat: heartbeatPayloadSchema,
  events: eventPayloadSchema,
} as const;

export type NodeMessage =
  | { kind: "presence"; nodeId: string; cleared: false; payload: PresencePayload }
  | { kind: "capabilities"; nodeId: string; cleared: false; payload: CapabilitiesPayload }
  | { kind: "heartbeat"; nodeId: string; cleared: false; payload: HeartbeatPayload }
  | { kind: "events"; nodeId: string; cleared: false; payload: EventPayload }
  /** An empty retained message: the node's retained state was deleted. */
  | { kind: NodeTopicKind; nodeId: string; cleared: true };

/**
 * Validates a message received on a discovery topic. Returns undefined for topics outside the scheme; throws
 * IotFogError (PROTOCOL_ERROR / VALIDATION_FAILED naming the topic and the field) for a bad payload.
 */
export function parseNodeMessage(
  prefix: string,
  topic: string,
  payload: Buffer | string,
): NodeMessage | undefined {
  const where = parseNodeTopic(prefix, topic);
  if (where === undefined) return undefined;
  const text = typeof payload === "string" ? payload : payload.toString("utf8");
  if (text.length === 0) return { kind: where.kind, nodeId: where.nodeId, cleared: true };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new IotFogError("PROTOCOL_ERROR", `MQTT ${topic}: payload is not JSON: ${errorMessage(e)}`);
  }
  const schema = payloadSchemas[where.kind];
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeZodError(parsed.error);
    throw new IotFogError("VALIDATION_FAILED", `MQTT ${topic}: ${problems.join("; ")}`, { problems });
  }
  if (parsed.data.nodeId !== where.nodeId) {
    throw new IotFogError(
      "VALIDATION_FAILED",
      `MQTT ${topic}: field "nodeId": "${parsed.data.nodeId}" does not match the topic's node "${where.nodeId}"`,
    );
  }
  return { kind: where.kind, nodeId: where.nodeId, cleared: false, payload: parsed.data } as NodeMessage;
}

/** Serialises a payload after validating it, so an agent never publishes what observers would reject. */
export function encodeNodePayload(kind: NodeTopicKind, payload: unknown): string {
  const parsed = payloadSchemas[kind].safeParse(payload);
  if (!parsed.success) {
    throw new IotFogError(
      "INTERNAL",
      `refusing to publish an invalid ${kind} payload: ${describeZodError(parsed.error).join("; ")}`,
    );
  }
  return JSON.stringify(parsed.data);
}
