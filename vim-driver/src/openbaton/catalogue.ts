import { z } from "zod";

/**
 * Open Baton catalogue objects as Gson writes and reads them (Java field names; null fields omitted; unknown
 * fields ignored). Incoming shapes are `passthrough` so an echo (refresh) keeps every field the NFVO sent.
 * Reference: docs/openbaton-protocol.md §4.
 */

/** A Java Map<String,String> as Gson may write it: absent, null, or with null values (dropped here). */
export const gsonStringMap = z
  .record(z.string().nullable())
  .nullable()
  .optional()
  .transform((m) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m ?? {})) if (v !== null) out[k] = v;
    return out;
  });
const stringMap = gsonStringMap;

/** BaseVimInstance (DockerVimInstance for us): `type` is required, the NFVO NPEs without it. */
export const vimInstanceSchema = z
  .object({
    type: z.string().min(1, "must not be empty"),
    name: z.string().optional(),
    id: z.string().optional(),
    // Kept as sent (no defaults), because refresh echoes the VIM back to the NFVO.
    metadata: z.record(z.string().nullable()).nullable().optional(),
    images: z.array(z.unknown()).nullable().optional(),
    networks: z.array(z.unknown()).nullable().optional(),
  })
  .passthrough();
export type VimInstance = z.infer<typeof vimInstanceSchema>;

/** VNFDConnectionPoint: one per virtual link the VNFC joins. */
export const connectionPointSchema = z
  .object({
    virtual_link_reference: z.string().min(1, "must not be empty"),
    virtual_link_reference_id: z.string().nullable().optional(),
    floatingIp: z.string().nullable().optional(),
    fixedIp: z.string().nullable().optional(),
    interfaceId: z.number().int().nullable().optional(),
    metadata: stringMap,
  })
  .passthrough();
export type ConnectionPoint = z.infer<typeof connectionPointSchema>;

export const keySchema = z
  .object({ name: z.string().nullable().optional(), publicKey: z.string().nullable().optional() })
  .passthrough();

/** BaseNetwork / DockerNetwork as createNetwork / updateNetwork receive it. */
export const networkParamSchema = z
  .object({
    name: z.string().min(1, "must not be empty"),
    extId: z.string().nullable().optional(),
    subnet: z.string().nullable().optional(),
    metadata: stringMap,
  })
  .passthrough();
export type NetworkParam = z.infer<typeof networkParamSchema>;

export const imageParamSchema = z
  .object({
    extId: z.string().nullable().optional(),
    name: z.string().nullable().optional(),
    tags: z.array(z.string()).nullable().optional(),
  })
  .passthrough();

export const flavourParamSchema = z
  .object({
    flavour_key: z.string().nullable().optional(),
    extId: z.string().nullable().optional(),
  })
  .passthrough();

export const subnetParamSchema = z
  .object({ name: z.string().nullable().optional(), extId: z.string().nullable().optional() })
  .passthrough();

// ---- Outgoing shapes ------------------------------------------------------------------------------------

/** DockerImage: the NFVO recognises it by the `tags` key and matches VDU `vm_image` against the tags. */
export interface DockerImage {
  extId: string;
  tags: string[];
  created?: string;
}

/** DockerNetwork: the `subnet` key must be present, or the NFVO casts it wrongly (ClassCastException). */
export interface DockerNetwork {
  name: string;
  extId: string;
  driver: string;
  scope: string;
  gateway: string;
  subnet: string;
  metadata?: Record<string, string>;
}

export interface DeploymentFlavour {
  flavour_key: string;
  extId: string;
  ram: number;
  disk: number;
  vcpus: number;
}

/** Quota (not a BaseEntity). Negative values mean "unlimited" and are rejected by default, so never send them. */
export interface Quota {
  tenant: string;
  cores: number;
  ram: number;
  instances: number;
  floatingIps: number;
  keyPairs: number;
}

/** Server (docs/openbaton-protocol.md §4): `ips` keyed by virtual-link name with non-empty lists; `floatingIps` an object. */
export interface Server {
  name: string;
  extId: string;
  status: string;
  extendedStatus: string;
  hostName: string;
  instanceName: string;
  hypervisorHostName: string;
  ips: Record<string, string[]>;
  floatingIps: Record<string, string>;
  image?: { extId: string; name: string };
  flavor?: DeploymentFlavour;
  created?: string;
  updated?: string;
}

/** Open Baton compares VNFC states with these strings; map container states onto them. */
export function serverStatus(containerState: string): "ACTIVE" | "INACTIVE" | "BUILD" | "ERROR" {
  switch (containerState) {
    case "running":
      return "ACTIVE";
    case "pending":
    case "created":
    case "restarting":
      return "BUILD";
    case "dead":
    case "removing":
      return "ERROR";
    default:
      return "INACTIVE";
  }
}
