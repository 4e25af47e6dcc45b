import { z } from "zod";
import { nodeCapabilitiesSchema } from "../capabilities/model";
import { imagePlatformSchema } from "../capabilities/platform";
import { serviceSpecSchema } from "../blueprint/spec";
import { deviceAssignmentSchema } from "../placement/types";
import { trustSchema } from "../security/trust";

/**
 * Every agent command with its params and result schema. Both sides validate with these: the agent on receipt
 * (bad params → BAD_REQUEST naming the field), the client on every reply (a wrong result → PROTOCOL_ERROR).
 * Adding an optional field is compatible; anything else bumps PROTOCOL_VERSION.
 */

const empty = z.object({}).strict();

/** Deployment ids become part of container names, so they use Docker's name alphabet. */
export const deploymentIdSchema = z
  .string()
  .regex(
    /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/,
    "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

const transferIdSchema = z.string().regex(/^[a-f0-9-]{8,64}$/, "must be a transfer id from begin");
const sha256Schema = z.string().regex(/^[a-f0-9]{64}$/, "must be a lower-case hex sha256");
const byteCount = z.number().int().nonnegative();
const epochMs = z.number().int().nonnegative();

// ---------------------------------------------------------------------------------------------------- ping
export const pingParamsSchema = empty;
export const pingResultSchema = z
  .object({
    nodeId: z.string(),
    agentVersion: z.string(),
    protocolVersion: z.number().int(),
    /** The agent's clock, so a client can estimate skew (deadlines are epoch ms). */
    time: epochMs,
    uptimeMs: byteCount,
  })
  .strict();

// ---------------------------------------------------------------------------------------------------- capabilities
export const capabilitiesParamsSchema = z
  .object({
    /** Re-run discovery before answering (otherwise the last document, refreshed on the agent's interval). */
    refresh: z.boolean().default(false),
  })
  .strict();
export const capabilitiesResultSchema = nodeCapabilitiesSchema;

// ---------------------------------------------------------------------------------------------------- deployments
/** A network to attach the container to, optionally with a fixed address. */
export const networkAttachmentSchema = z
  .object({
    name: z.string().min(1, "must not be empty"),
    ipv4Address: z.string().ip({ version: "v4", message: "must be an IPv4 address" }).optional(),
    ipv6Address: z.string().ip({ version: "v6", message: "must be an IPv6 address" }).optional(),
    aliases: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type NetworkAttachment = z.infer<typeof networkAttachmentSchema>;

/**
 * Node-to-node forwarding: may a deploy this node refuses go to a peer, and where it has been
 * (docs/agent-events.md). `visited` makes loops impossible, `hopLimit` bounds the forwards.
 */
export const deployForwardingSchema = z
  .object({
    allowed: z.boolean().default(false),
    hopLimit: z.number().int().min(1, "must be >= 1").max(16, "must be <= 16").default(3),
    visited: z.array(z.string().min(1)).max(16, "must list at most 16 nodes").default([]),
  })
  .strict();

export const deployParamsSchema = z
  .object({
    /** Idempotency key: a second deploy with the same id returns the first result and starts nothing. */
    deploymentId: deploymentIdSchema,
    spec: serviceSpecSchema,
    replica: z.number().int().nonnegative().default(0),
    /** The devices placement chose on this node; the agent re-checks they are still there (admission). */
    devices: z.array(deviceAssignmentSchema).default([]),
    /** Networks with fixed addresses; default: `spec.networks` by name, or the runtime's default network. */
    networks: z.array(networkAttachmentSchema).optional(),
    /** Create only (false) or create and start (true). */
    start: z.boolean().default(true),
    /** Absent: this node runs it or refuses. */
    forward: deployForwardingSchema.optional(),
  })
  .strict();
export type DeployParams = z.output<typeof deployParamsSchema>;
export type DeployParamsInput = z.input<typeof deployParamsSchema>;

export const deploymentStates = [
  "created",
  "running",
  "paused",
  "restarting",
  "exited",
  "dead",
  "removing",
  /** The agent wants it but the container is gone (it will re-create it on its next reconcile). */
  "missing",
] as const;
export type DeploymentState = (typeof deploymentStates)[number];

export const deploymentInfoSchema = z
  .object({
    deploymentId: deploymentIdSchema,
    nodeId: z.string(),
    service: z.string(),
    replica: z.number().int().nonnegative(),
    image: z.string(),
    /** What the agent keeps it at across restarts and reboots. */
    desired: z.enum(["running", "stopped"]),
    state: z.enum(deploymentStates),
    containerId: z.string().optional(),
    containerName: z.string(),
    exitCode: z.number().int().optional(),
    startedAt: z.string().optional(),
    devices: z
      .array(z.object({ deviceId: z.string(), hostPath: z.string(), containerPath: z.string() }).strict())
      .default([]),
    createdAt: epochMs,
  })
  .strict();
export type DeploymentInfo = z.infer<typeof deploymentInfoSchema>;

export const deployResultSchema = z
  .object({
    deployment: deploymentInfoSchema,
    /** False when the deployment already existed (a retried or repeated deploy). */
    created: z.boolean(),
    /** Nodes a forwarded deploy passed through, ending with the one it landed on (deployment.nodeId). */
    route: z.array(z.string()).optional(),
  })
  .strict();
export type DeployResult = z.infer<typeof deployResultSchema>;

export const deploymentRefSchema = z.object({ deploymentId: deploymentIdSchema }).strict();
export const stopParamsSchema = z
  .object({
    deploymentId: deploymentIdSchema,
    /** Seconds between SIGTERM and SIGKILL. */
    timeoutSeconds: z.number().int().min(0).max(600).default(10),
  })
  .strict();
export const removeParamsSchema = z
  .object({ deploymentId: deploymentIdSchema, timeoutSeconds: z.number().int().min(0).max(600).default(10) })
  .strict();
export const removeResultSchema = z
  .object({ deploymentId: deploymentIdSchema, removed: z.boolean() })
  .strict();
export const listParamsSchema = empty;
export const listResultSchema = z.object({ deployments: z.array(deploymentInfoSchema) }).strict();

export const logsParamsSchema = z
  .object({
    deploymentId: deploymentIdSchema,
    tail: z.number().int().min(1).max(10000).default(100),
    timestamps: z.boolean().default(false),
  })
  .strict();
export const logLineSchema = z.object({ stream: z.enum(["stdout", "stderr"]), line: z.string() }).strict();
export const logsResultSchema = z.object({ lines: z.array(logLineSchema) }).strict();

// ---------------------------------------------------------------------------------------------------- images
export const imageInfoSchema = z
  .object({
    id: z.string(),
    tags: z.array(z.string()),
    sizeBytes: byteCount,
    createdAt: epochMs,
    /** What the image was built for (Docker's image inspect: Os / Architecture / Variant); absent from old agents. */
    platform: imagePlatformSchema.optional(),
  })
  .strict();
export const imagesListResultSchema = z.object({ images: z.array(imageInfoSchema) }).strict();
export type ImageInfo = z.infer<typeof imageInfoSchema>;

/**
 * What a copied image must be, as the driver learnt it from the node it copies from (not from the tarball): the
 * agent checks the tarball's config digest (Docker's image id) and tags against it before `docker load`.
 */
export const expectedImageSchema = z
  .object({
    imageId: z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be sha256:<64 hex>"),
    /** The one tag the tarball may carry; absent: none. */
    tag: z.string().min(1).max(512).optional(),
  })
  .strict();
export type ExpectedImage = z.infer<typeof expectedImageSchema>;

/** Import a `docker save` tarball in chunks: begin → chunk (attachment) × n → commit (or abort). */
export const imagesImportBeginParamsSchema = z
  .object({
    sizeBytes: z.number().int().positive("must be > 0"),
    sha256: sha256Schema,
    expect: expectedImageSchema.optional(),
  })
  .strict();
export const imagesImportBeginResultSchema = z
  .object({ transferId: transferIdSchema, chunkBytes: z.number().int().positive() })
  .strict();
/** The chunk bytes travel as the attachment frame; `offset` must equal the bytes received so far. */
export const imagesImportChunkParamsSchema = z
  .object({ transferId: transferIdSchema, offset: byteCount })
  .strict();
export const imagesImportChunkResultSchema = z
  .object({ transferId: transferIdSchema, receivedBytes: byteCount })
  .strict();
export const transferRefSchema = z.object({ transferId: transferIdSchema }).strict();
export const imagesImportCommitResultSchema = z
  .object({ images: z.array(z.string()), sizeBytes: byteCount })
  .strict();

export const imagesPullParamsSchema = z.object({ image: z.string().min(1) }).strict();
export const imagesPullResultSchema = z.object({ image: z.string(), id: z.string() }).strict();

/** Export an image as a `docker save` tarball in chunks: begin → chunk × n (reply attachments) → end. */
export const imagesExportBeginParamsSchema = z.object({ image: z.string().min(1) }).strict();
export const imagesExportBeginResultSchema = z
  .object({
    transferId: transferIdSchema,
    sizeBytes: byteCount,
    sha256: sha256Schema,
    chunkBytes: z.number().int().positive(),
  })
  .strict();
export const imagesExportChunkParamsSchema = z
  .object({ transferId: transferIdSchema, offset: byteCount })
  .strict();
/** The bytes come back as the reply's attachment frame. */
export const imagesExportChunkResultSchema = z
  .object({ transferId: transferIdSchema, offset: byteCount, length: byteCount, done: z.boolean() })
  .strict();

// ---------------------------------------------------------------------------------------------------- networks
export const networkInfoSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    driver: z.string(),
    subnet: z.string().optional(),
    gateway: z.string().optional(),
    /** Created by this agent (carries its node label); only those can be removed over the protocol. */
    managed: z.boolean(),
  })
  .strict();
export type NetworkInfo = z.infer<typeof networkInfoSchema>;
export const networksListResultSchema = z.object({ networks: z.array(networkInfoSchema) }).strict();
export const networksCreateParamsSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "must be a Docker network name"),
    driver: z.string().min(1).default("bridge"),
    subnet: z
      .string()
      .regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, "must be a CIDR such as 172.28.0.0/16")
      .optional(),
    gateway: z.string().ip().optional(),
    labels: z.record(z.string()).default({}),
  })
  .strict();
export const networksCreateResultSchema = z
  .object({ network: networkInfoSchema, created: z.boolean() })
  .strict();
export const networksRemoveParamsSchema = z.object({ name: z.string().min(1) }).strict();
export const networksRemoveResultSchema = z.object({ name: z.string(), removed: z.boolean() }).strict();

// ---------------------------------------------------------------------------------------------------- labels
const LABEL_KEY = /^[a-zA-Z0-9]([a-zA-Z0-9_./-]{0,126}[a-zA-Z0-9])?$/;
/** The most keys one change may set, and remove. */
export const MAX_LABELS_PER_CHANGE = 64;

/**
 * Operator label keys, Docker / Kubernetes style (`zone`, `line`, `factory.io/cell`): no spaces or operator
 * characters, so every key can be named in a constraint as `node.labels.<key>`.
 */
export const labelKeySchema = z.string({ invalid_type_error: "must be a string" }).superRefine((key, ctx) => {
  if (key === "") ctx.addIssue({ code: z.ZodIssueCode.custom, message: "label key must not be empty" });
  else if (!LABEL_KEY.test(key)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `label key "${key}" must be 1-128 letters, digits, '.', '_', '/' or '-', starting and ending with a letter or digit (no spaces)`,
    });
  }
});

/** Label values: any text on one line (may be empty: a key-only label), compared as text by constraints. */
export const labelValueSchema = z
  .string({ invalid_type_error: "must be a string" })
  .max(256, "must be at most 256 characters")
  .regex(/^[^\p{Cc}]*$/u, "must not contain control characters (newlines, tabs)")
  .refine((v) => v === v.trim(), "must not start or end with a space");

/** A change of a node's operator labels: `set` adds or overwrites, `remove` deletes keys. */
export const labelsChangeSchema = z
  .object({
    set: z
      .record(labelKeySchema, labelValueSchema)
      .refine((s) => Object.keys(s).length <= MAX_LABELS_PER_CHANGE, {
        message: `must set at most ${MAX_LABELS_PER_CHANGE} labels at once`,
      })
      .default({}),
    remove: z
      .array(labelKeySchema)
      .max(MAX_LABELS_PER_CHANGE, `must remove at most ${MAX_LABELS_PER_CHANGE} labels at once`)
      .default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    c.remove.forEach((key, i) => {
      if (Object.prototype.hasOwnProperty.call(c.set, key)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ["remove", i],
          message: `"${key}" is also in "set": set it or remove it, not both`,
        });
      }
    });
  });
export type LabelsChange = z.output<typeof labelsChangeSchema>;

export const labelsSetResultSchema = z
  .object({
    /** The node's labels now: the config's, minus what operators removed, plus what they set. */
    labels: z.record(z.string()),
    /** The operators' layer the agent keeps in its data directory: values set, and config keys removed. */
    operator: z.object({ set: z.record(z.string()), removed: z.array(z.string()) }).strict(),
    /** False when the change left the labels as they were (nothing written, nothing republished). */
    changed: z.boolean(),
  })
  .strict();
export type LabelsSetResult = z.infer<typeof labelsSetResultSchema>;

// ---------------------------------------------------------------------------------------------------- trust
/** The driver's new trust list for this node (fleet keys, enrolled peers), with its MAC (security/trust.ts). */
export const trustUpdateParamsSchema = z
  .object({ trust: trustSchema, mac: z.string().regex(/^[a-f0-9]{64}$/, "must be a hex HMAC-SHA256") })
  .strict();
export const trustUpdateResultSchema = z
  .object({
    /** The issuedAt of the list the node holds now (an older list than the node's is ignored). */
    issuedAt: epochMs,
    /** The fleet keys the node admits now. */
    fleetKeys: z.array(z.string()),
  })
  .strict();

// ---------------------------------------------------------------------------------------------------- registry
/** Command name → schemas. Commands marked `attachment` carry bytes in the extra frame. */
export const agentCommands = {
  ping: { params: pingParamsSchema, result: pingResultSchema },
  capabilities: { params: capabilitiesParamsSchema, result: capabilitiesResultSchema },
  deploy: { params: deployParamsSchema, result: deployResultSchema },
  start: { params: deploymentRefSchema, result: deploymentInfoSchema },
  stop: { params: stopParamsSchema, result: deploymentInfoSchema },
  remove: { params: removeParamsSchema, result: removeResultSchema },
  list: { params: listParamsSchema, result: listResultSchema },
  inspect: { params: deploymentRefSchema, result: deploymentInfoSchema },
  logs: { params: logsParamsSchema, result: logsResultSchema },
  "images.list": { params: empty, result: imagesListResultSchema },
  "images.import.begin": { params: imagesImportBeginParamsSchema, result: imagesImportBeginResultSchema },
  /** Request attachment: the chunk. */
  "images.import.chunk": { params: imagesImportChunkParamsSchema, result: imagesImportChunkResultSchema },
  "images.import.commit": { params: transferRefSchema, result: imagesImportCommitResultSchema },
  "images.import.abort": { params: transferRefSchema, result: empty },
  "images.pull": { params: imagesPullParamsSchema, result: imagesPullResultSchema },
  "images.export.begin": { params: imagesExportBeginParamsSchema, result: imagesExportBeginResultSchema },
  /** Reply attachment: the chunk. */
  "images.export.chunk": { params: imagesExportChunkParamsSchema, result: imagesExportChunkResultSchema },
  "images.export.end": { params: transferRefSchema, result: empty },
  "networks.list": { params: empty, result: networksListResultSchema },
  "networks.create": { params: networksCreateParamsSchema, result: networksCreateResultSchema },
  "networks.remove": { params: networksRemoveParamsSchema, result: networksRemoveResultSchema },
  "labels.set": { params: labelsChangeSchema, result: labelsSetResultSchema },
  "trust.update": { params: trustUpdateParamsSchema, result: trustUpdateResultSchema },
} as const;

export type AgentCommandName = keyof typeof agentCommands;
export const agentCommandNames = Object.keys(agentCommands) as AgentCommandName[];
/** What a caller passes (defaults not yet applied). */
export type CommandParams<C extends AgentCommandName> = z.input<(typeof agentCommands)[C]["params"]>;
/** What a handler receives (defaults applied). */
export type ParsedCommandParams<C extends AgentCommandName> = z.output<(typeof agentCommands)[C]["params"]>;
export type CommandResult<C extends AgentCommandName> = z.output<(typeof agentCommands)[C]["result"]>;

export function isAgentCommand(name: string): name is AgentCommandName {
  return Object.prototype.hasOwnProperty.call(agentCommands, name);
}
