import { z } from "zod";
import { IotFogError, errorMessage } from "../errors";
import { describeZodError } from "../validation";
import { nodeCapabilitiesSchema } from "../capabilities/model";
import { tolerantReader } from "./tolerant";
import { parseNodeTopic, type NodeTopicKind } from "./topics";

/**
 * Payloads of the discovery topics (JSON, UTF-8). Each carries `v` (payload schema version), the node id (must
 * match the topic), `ts` (sender's epoch ms) and `sessionId` (random per agent process start: a new session
 * means the agent restarted; observers use it to ignore a stale last-will from an older session).
 *
 * Schema evolution (docs/agent.md): a new field is optional and keeps `v`; readers drop fields they do not know
 * (tolerantReader) and validate the ones they do. `v` changes only when a reader of the previous version would
 * misread a payload (a field removed, renamed, or given another meaning); readers refuse a `v` they do not know.
 */
export const MQTT_PAYLOAD_VERSION = 1 as const;

const base = {
  v: z.literal(MQTT_PAYLOAD_VERSION, {
    errorMap: () => ({
      message: `must be ${MQTT_PAYLOAD_VERSION}: a payload of another schema version (docs/agent.md, "Schema evolution")`,
    }),
  }),
  nodeId: z.string().min(1),
  ts: z.number().int().nonnegative(),
  sessionId: z.string().min(1),
  /**
   * The sender's HMAC (NodeMessageSigner, docs/security.md "MQTT"): the fleet view of a secure fleet accepts a
   * node's message only with it. Optional, so messages of agents without security stay valid.
   */
  mac: z
    .string()
    .regex(/^[a-f0-9]{64}$/, "must be 64 hex digits")
    .optional(),
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

/** One container's latest figures, as the agent's metrics sampler read them. */
export const containerFiguresSchema = z
  .object({
    deploymentId: z.string().min(1).max(128),
    /** Cores busy between the sampler's last two readings (absent after the first). */
    cpuCores: z.number().nonnegative().optional(),
    memoryBytes: z.number().nonnegative(),
    memoryLimitBytes: z.number().nonnegative(),
    restarts: z.number().int().nonnegative(),
  })
  .strict();
export type ContainerFigures = z.infer<typeof containerFiguresSchema>;

/**
 * The usage topic: the node's CPU and memory and its running containers' figures, published after each pass of
 * the agent's metrics sampler (metrics.containerIntervalMs). A topic of its own rather than heartbeat fields:
 * readers older than it ignore the topic, where they would refuse a heartbeat with fields they do not know.
 */
export const usagePayloadSchema = z
  .object({
    ...base,
    /** How often the agent publishes this (the sampler's interval). */
    intervalMs: z.number().int().positive(),
    node: z
      .object({
        /** Cores busy on average since the previous usage message (all modes but idle; 1 = one core). */
        cpuBusyCores: z.number().nonnegative().optional(),
        cpuCores: z.number().positive(),
        memoryUsedBytes: z.number().nonnegative(),
        memoryTotalBytes: z.number().nonnegative(),
      })
      .strict(),
    containers: z.array(containerFiguresSchema).max(1000),
  })
  .strict();
export type UsagePayload = z.infer<typeof usagePayloadSchema>;

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

/** What this version writes: strict, so an agent never publishes a field its own version does not define. */
const payloadSchemas = {
  presence: presencePayloadSchema,
  capabilities: capabilitiesPayloadSchema,
  heartbeat: heartbeatPayloadSchema,
  events: eventPayloadSchema,
  usage: usagePayloadSchema,
} as const;

/** What this version reads: the same checks, but fields of newer agents are dropped, not refused. */
const readerSchemas = {
  presence: tolerantReader(presencePayloadSchema),
  capabilities: tolerantReader(capabilitiesPayloadSchema),
  heartbeat: tolerantReader(heartbeatPayloadSchema),
  events: tolerantReader(eventPayloadSchema),
  usage: tolerantReader(usagePayloadSchema),
} as const;

export type NodeMessage =
  | { kind: "presence"; nodeId: string; cleared: false; payload: PresencePayload }
  | { kind: "capabilities"; nodeId: string; cleared: false; payload: CapabilitiesPayload }
  | { kind: "heartbeat"; nodeId: string; cleared: false; payload: HeartbeatPayload }
  | { kind: "events"; nodeId: string; cleared: false; payload: EventPayload }
  | { kind: "usage"; nodeId: string; cleared: false; payload: UsagePayload }
  /** An empty retained message: the node's retained state was deleted. */
  | { kind: NodeTopicKind; nodeId: string; cleared: true };

/**
 * Validates a message received on a discovery topic. Returns undefined for topics outside the scheme; throws
 * IotFogError (PROTOCOL_ERROR / VALIDATION_FAILED naming the topic and the field) for a bad payload. Fields
 * this version does not know are dropped (a newer agent's), so the payload returned has only known fields.
 */
export function parseNodeMessage(
  prefix: string,
  topic: string,
  payload: Buffer | string,
  /** When given, a payload it does not authenticate (checked on the JSON as received) is refused. */
  authenticate?: (kind: NodeTopicKind, nodeId: string, raw: Record<string, unknown>) => boolean,
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
  const schema = readerSchemas[where.kind];
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
  if (authenticate !== undefined && !authenticate(where.kind, where.nodeId, raw as Record<string, unknown>)) {
    throw new IotFogError(
      "UNAUTHORIZED",
      `MQTT ${topic}: not signed by node "${where.nodeId}" as enrolled in this fleet (unsigned, forged, or the node is not enrolled)`,
    );
  }
  return { kind: where.kind, nodeId: where.nodeId, cleared: false, payload: parsed.data } as NodeMessage;
}

/**
 * Serialises a payload after validating it, so an agent never publishes what observers would reject; `sign`
 * adds the sender's MAC to exactly what is sent (after the schema's defaults).
 */
export function encodeNodePayload(
  kind: NodeTopicKind,
  payload: unknown,
  sign?: (kind: NodeTopicKind, payload: Record<string, unknown>) => Record<string, unknown>,
): string {
  const parsed = payloadSchemas[kind].safeParse(payload);
  if (!parsed.success) {
    throw new IotFogError(
      "INTERNAL",
      `refusing to publish an invalid ${kind} payload: ${describeZodError(parsed.error).join("; ")}`,
    );
  }
  return JSON.stringify(sign === undefined ? parsed.data : sign(kind, parsed.data));
}
