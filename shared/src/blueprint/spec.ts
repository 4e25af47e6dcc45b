import { z } from "zod";
import { hexIdSchema, nonEmptyString } from "../capabilities/model";
import { constraintSetSchema, preferenceSchema, spreadSchema } from "../constraints/ast";

/**
 * ServiceSpec: one service as it travels over the wire from driver to agent (and between peers). Blueprints
 * (blueprint/parse.ts) produce these; placement consumes them; the agent's runtime turns them into containers.
 * All quantities are already in base units (bytes, cores) here; units are a blueprint convenience.
 */

const nonEmpty = nonEmptyString;

/** A DNS-label-like name: it becomes part of container names. */
export const serviceNameSchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    "must be lower-case letters, digits and '-', at most 63 characters",
  );

export const portSchema = z
  .object({
    container: z.number().int().min(1).max(65535),
    host: z.number().int().min(1).max(65535).optional(),
    protocol: z.enum(["tcp", "udp"]).default("tcp"),
  })
  .strict();
export type PortMapping = z.infer<typeof portSchema>;

export const volumeSchema = z
  .object({
    /** Host path (absolute) or named volume. */
    source: nonEmpty,
    target: z.string().regex(/^\//, "must be an absolute path in the container"),
    readOnly: z.boolean().default(false),
  })
  .strict();
export type VolumeMount = z.infer<typeof volumeSchema>;

/**
 * A device the service needs. Match by class, by vendor/product id, by serial, or any combination (all given
 * fields must match). `exclusive` (the default) leases the device: no other service gets it while we hold it,
 * so a radio or actuator is never driven twice.
 */
export const deviceRequirementSchema = z
  .object({
    class: nonEmpty.optional(),
    vendorId: hexIdSchema.optional(),
    productId: hexIdSchema.optional(),
    serial: nonEmpty.optional(),
    /** The device must speak this protocol (e.g. a ZigBee coordinator: class usb + protocol zigbee). */
    protocol: nonEmpty.optional(),
    exclusive: z.boolean().default(true),
    /** Where the device appears inside the container; default: the same path as on the host. */
    containerPath: z.string().regex(/^\//, "must be an absolute path").optional(),
  })
  .strict()
  .refine(
    (d) =>
      d.class !== undefined ||
      d.vendorId !== undefined ||
      d.productId !== undefined ||
      d.serial !== undefined,
    "needs at least one of class, vendorId, productId, serial",
  );
export type DeviceRequirement = z.infer<typeof deviceRequirementSchema>;
export type DeviceRequirementInput = z.input<typeof deviceRequirementSchema>;

/** A container host name (RFC 1123 label): what `hostname` prints inside the container. */
export const hostNameSchema = z
  .string()
  .regex(
    /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/,
    "must be a host name: letters, digits and '-', at most 63 characters, not starting or ending with '-'",
  );

export const restartPolicies = ["no", "always", "on-failure", "unless-stopped"] as const;
export type RestartPolicy = (typeof restartPolicies)[number];

export const serviceResourcesSchema = z
  .object({
    /** CPU cores reserved (fractions allowed). */
    cpus: z.number().positive("must be > 0").optional(),
    memoryBytes: z.number().int().positive("must be > 0").optional(),
    /** Container storage the service needs (image + writable layer + volumes on the data root). */
    diskBytes: z.number().int().positive("must be > 0").optional(),
  })
  .strict();
export type ServiceResources = z.infer<typeof serviceResourcesSchema>;

/**
 * Most replicas of one service. Placement plans every replica, so a count from a remote caller must be bounded:
 * `replicas: 1e9` in a blueprint once held the driver until it ran out of memory.
 */
export const MAX_REPLICAS = 1000;

/**
 * What happens to a replica when its node is lost (docs/self-healing.md). `onNodeLoss`: `replace` places it again
 * on another node once the node has been lost for `graceMs`; `keep` waits for the node. Absent: `replace`, except
 * for services with volumes (their data is on the node), which `keep`.
 */
export const nodeLossPolicies = ["replace", "keep"] as const;
export type NodeLossPolicy = (typeof nodeLossPolicies)[number];

export const failoverSchema = z
  .object({
    onNodeLoss: z.enum(nodeLossPolicies).optional(),
    /** How long the node must have been lost before the replica is placed again. */
    graceMs: z.number().int().nonnegative("must be >= 0 (milliseconds)").default(0),
    /** The agent stops the service itself once cut off from the fleet for longer than this. */
    fenceAfterMs: z.number().int().positive("must be > 0 (milliseconds)").optional(),
  })
  .strict();
export type FailoverPolicy = z.infer<typeof failoverSchema>;

/**
 * Seconds a fencing agent gives a container to stop before Docker kills it: short, because the replacement of
 * a service holding an exclusive device waits for it.
 */
export const FENCE_STOP_SECONDS = 2;
/**
 * How long after `fence_after` a fenced copy is surely stopped, counted by the driver from the node's loss: the
 * agent's check tick (0.5 s), the stop timeout, and slack for the two clocks' rates and a slow engine.
 */
export const FENCE_SETTLE_MS = 5000;

/**
 * How long a node must have been lost before a replica of this service may be placed again, or undefined when
 * it must wait for the node. A service that holds a device exclusively (a ZigBee stick driving one machine) is
 * placed again only once its old copy has fenced itself (`fence_after` + FENCE_SETTLE_MS, or its grace if
 * longer); without `fence_after` nothing guarantees the old copy stopped, so it waits for the node.
 */
export function replacementDelayMs(spec: Pick<ServiceSpec, "failover" | "devices">): number | undefined {
  const grace = spec.failover?.graceMs ?? 0;
  if (!spec.devices.some((d) => d.exclusive)) return grace;
  const fence = spec.failover?.fenceAfterMs;
  return fence === undefined ? undefined : Math.max(grace, fence + FENCE_SETTLE_MS);
}

/** The policy a replica of this service follows when its node is lost. */
export function nodeLossPolicy(spec: Pick<ServiceSpec, "failover" | "volumes">): NodeLossPolicy {
  return spec.failover?.onNodeLoss ?? (spec.volumes.length > 0 ? "keep" : "replace");
}

export const serviceSpecSchema = z
  .object({
    name: serviceNameSchema,
    image: nonEmpty,
    command: z.array(z.string()).optional(),
    env: z.record(z.string()).default({}),
    ports: z.array(portSchema).default([]),
    volumes: z.array(volumeSchema).default([]),
    devices: z.array(deviceRequirementSchema).default([]),
    resources: serviceResourcesSchema.default({}),
    restart: z.enum(restartPolicies).default("unless-stopped"),
    replicas: z
      .number()
      .int()
      .min(0, "must be >= 0")
      .max(MAX_REPLICAS, `must be <= ${MAX_REPLICAS}`)
      .default(1),
    maxPerNode: z.number().int().positive("must be > 0").optional(),
    networks: z.array(nonEmpty).optional(),
    /** The container's host name; default: the runtime's (Docker: the container id). */
    hostname: hostNameSchema.optional(),
    /** DNS servers the container resolves with (Docker `--dns`); default: the node's. */
    dns: z.array(z.string().ip({ message: "must be an IP address" })).optional(),
    constraints: constraintSetSchema.default({}),
    preferences: z.array(preferenceSchema).default([]),
    spread: z.array(spreadSchema).default([]),
    labels: z.record(z.string()).default({}),
    /** Services (of the same blueprint) that must be placed and started before this one. */
    dependsOn: z.array(serviceNameSchema).default([]),
    /** Node loss and fencing policy; absent: the defaults of failoverSchema. */
    failover: failoverSchema.optional(),
  })
  .strict();
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;
/** What a producer may send (defaults not yet applied). */
export type ServiceSpecInput = z.input<typeof serviceSpecSchema>;
