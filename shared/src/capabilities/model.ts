import { z } from "zod";
import { hostPolicySchema } from "../host-policy/schema";

/**
 * What a fog node advertises about itself (the capability model). Agents publish it on discovery and on every
 * change (hot-plugged device, label edit); the driver and peers place services against it. Attribute names
 * used by constraints (`node.platform.arch`, `node.labels.zone`, ...) are documented in docs/placement.md.
 *
 * Versioned: `schemaVersion` is bumped on any incompatible change so a mixed fleet can tell what it receives.
 */
export const CAPABILITIES_SCHEMA_VERSION = 1 as const;

export const nodeArchitectures = ["amd64", "arm64", "arm"] as const;
export type NodeArchitecture = (typeof nodeArchitectures)[number];

export const nodeRoles = ["worker", "manager"] as const;
export type NodeRole = (typeof nodeRoles)[number];

/** Device classes we know; any other lower-case class name is accepted too (new hardware must not need a release). */
export const knownDeviceClasses = ["zigbee", "bluetooth", "serial", "camera", "gpio", "usb"] as const;

export const nonEmptyString = z.string().min(1, "must not be empty");
const nonEmpty = nonEmptyString;
const byteCount = z.number().int("must be a whole number of bytes").nonnegative("must be >= 0");
/** USB ids are hex; the agent may write `0x10C4` or `10c4`, matching is case-insensitive and ignores `0x`. */
export const hexIdSchema = z
  .string()
  .regex(/^(0x)?[0-9a-fA-F]{1,8}$/, "must be a hexadecimal id such as 10c4");

export const deviceSchema = z
  .object({
    /** Stable within the node: the agent derives it from serial / by-id path so it survives re-plugging. */
    id: nonEmpty,
    class: nonEmpty,
    vendorId: hexIdSchema.optional(),
    productId: hexIdSchema.optional(),
    vendor: z.string().optional(),
    product: z.string().optional(),
    serial: z.string().optional(),
    /** Kernel path, e.g. /dev/ttyUSB0 (may change across re-plugs). */
    path: nonEmpty,
    /** Path that survives re-plugs, e.g. /dev/serial/by-id/usb-ITead_Sonoff_Zigbee_...; preferred for mapping. */
    stablePath: z.string().optional(),
    /** Radio / bus protocols the device speaks, e.g. ["zigbee"], ["modbus-rtu"]. */
    protocols: z.array(nonEmpty).optional(),
    /** Who holds the device outside our leases (a container name or service), as seen by the agent. */
    inUseBy: z.string().optional(),
  })
  .strict();
export type Device = z.infer<typeof deviceSchema>;

export const softwareSchema = z
  .object({
    name: nonEmpty,
    /** Compared as semver (coerced: `24.0.7`, `1.2`, `v2` all work). */
    version: nonEmpty,
  })
  .strict();
export type Software = z.infer<typeof softwareSchema>;

export const nodeResourcesSchema = z
  .object({
    cpu: z
      .object({
        cores: z.number().positive("must be > 0"),
        /** Nominal clock per core in MHz. */
        mhz: z.number().positive("must be > 0").optional(),
      })
      .strict(),
    memory: z.object({ totalBytes: byteCount, freeBytes: byteCount }).strict(),
    /** The container storage (Docker data root). */
    disk: z.object({ totalBytes: byteCount, freeBytes: byteCount, path: z.string().optional() }).strict(),
  })
  .strict();
export type NodeResources = z.infer<typeof nodeResourcesSchema>;

export const nodeCapabilitiesSchema = z
  .object({
    schemaVersion: z.literal(CAPABILITIES_SCHEMA_VERSION),
    nodeId: nonEmpty,
    hostname: nonEmpty,
    role: z.enum(nodeRoles).default("worker"),
    platform: z
      .object({
        arch: z.enum(nodeArchitectures),
        /** ARM revision for `arm` (`v6`, `v7`), as image platforms name it; absent elsewhere. */
        variant: nonEmpty.optional(),
        os: nonEmpty,
        kernel: z.string().default(""),
      })
      .strict(),
    agentVersion: nonEmpty,
    resources: nodeResourcesSchema,
    devices: z.array(deviceSchema).default([]),
    software: z.array(softwareSchema).default([]),
    /** Protocols the node can speak, e.g. mqtt, opcua, modbus-rtu, zigbee. */
    protocols: z.array(nonEmpty).default([]),
    /** Operator labels (Swarm node labels); a key-only label has the value "". zone / line / cell live here. */
    labels: z.record(z.string()).default({}),
    /** Labels of the container engine (Swarm `engine.labels`). */
    engineLabels: z.record(z.string()).default({}),
    /** What the node's host-safety policy allows (docs/security.md); absent: the least-privilege default. */
    hostPolicy: hostPolicySchema.optional(),
  })
  .strict();
export type NodeCapabilities = z.infer<typeof nodeCapabilitiesSchema>;
/** What a producer may send (defaults not yet applied). */
export type NodeCapabilitiesInput = z.input<typeof nodeCapabilitiesSchema>;

/** Normalises a USB vendor / product id for comparison: `0x10C4`, `10c4` and `010c4` all become `10c4`. */
export function normaliseHexId(id: string): string {
  return id.toLowerCase().replace(/^0x/, "").replace(/^0+/, "").padStart(4, "0");
}
