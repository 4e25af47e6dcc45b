import { z } from "zod";
import {
  IotFogError,
  deviceRequirementSchema,
  hostNameSchema,
  parseBytes,
  parseWith,
  portSchema,
  restartPolicies,
  volumeSchema,
  type ConstraintInput,
  type DeviceRequirement,
  type PortMapping,
  type Preference,
  type RestartPolicy,
  type ServiceResources,
  type VolumeMount,
} from "@openiotfog/shared";

/**
 * The fog spec a VNFM (or an operator) puts in Open Baton `userdata` to say where and how a VNFC must run.
 * Format, version 1 (docs/driver.md): one line anywhere in the userdata
 *
 *     #iotfog-spec/v1 {"constraints":["node.labels.zone==line-1"],"env":{"MODE":"edge"}}
 *
 * or, to keep it opaque to shells and editors, the same JSON in base64url after the marker. It is a comment for
 * any shell that runs the userdata, and the NFVO's one textual edit (`#Hostname=` → `Hostname=<host>`) cannot
 * touch it because the marker differs. Unknown versions are refused, so an old driver never half-applies a spec.
 */
export const FOG_SPEC_MARKER = "#iotfog-spec/";
const LINE = /^[ \t]*#iotfog-spec\/v(\d+)[ \t]+(\S.*?)[ \t]*$/m;

const quantity = z.union([z.string(), z.number()]);

/** A DNS name a container answers to on a network (letters, digits, '.', '_', '-'). */
export const networkAliasSchema = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,252}$/, "must be a DNS name (letters, digits, '.', '_', '-')");

export const fogSpecV1Schema = z
  .object({
    /** Constraints in either syntax of the constraint language (docs/placement.md). */
    constraints: z.array(z.union([z.string(), z.record(z.unknown())])).default([]),
    env: z.record(z.string()).default({}),
    command: z.array(z.string()).optional(),
    ports: z.array(portSchema).default([]),
    volumes: z.array(volumeSchema).default([]),
    devices: z.array(deviceRequirementSchema).default([]),
    resources: z
      .object({
        cpus: z.number().positive("must be > 0").optional(),
        /** `512MiB`, `1GB` or bytes. */
        memory: quantity.optional(),
        disk: quantity.optional(),
      })
      .strict()
      .default({}),
    restart: z.enum(restartPolicies).optional(),
    labels: z.record(z.string()).default({}),
    /** The container's host name; default: the hostname the NFVO chose for the VNFC. */
    hostname: hostNameSchema.optional(),
    /** DNS servers of the container (Docker `--dns`). */
    dns: z.array(z.string().ip({ message: "must be an IP address" })).default([]),
    /**
     * Extra DNS names per virtual link (the VL name, as in the VNFD): other containers on that link reach the
     * VNFC by them, besides its hostname.
     */
    aliases: z.record(z.array(networkAliasSchema)).default({}),
    /**
     * What the fleet does when the VNFC's node is lost: `keep` (default) waits for the node (the NFVO heals),
     * `replace` places it again elsewhere (the fog VNFM with `vnfm.autoHeal`, which then tells the NFVO).
     */
    onNodeLoss: z.enum(["replace", "keep"]).optional(),
  })
  .strict();
export type FogSpecV1 = z.infer<typeof fogSpecV1Schema>;

/**
 * The fog spec of a VNFC in memory, every field validated: what the VNFM's translation of a VNFD produces
 * (vnfm/translate.ts), what the VNFM keeps and relaunches with, and what the launch translation reads
 * (launch-translation.ts). The v1 line above is its encoding in userdata, at the NFVO boundary only.
 */
export interface FogSpec {
  command?: string[];
  env: Record<string, string>;
  ports: PortMapping[];
  volumes: VolumeMount[];
  devices: DeviceRequirement[];
  resources: ServiceResources;
  restart?: RestartPolicy;
  /** Constraints as written (Swarm strings or full-form objects). */
  constraints: ConstraintInput[];
  labels: Record<string, string>;
  /** The container's host name; default: the hostname the NFVO chose for the VNFC. */
  hostname?: string;
  /** DNS servers. */
  dns: string[];
  /** Extra DNS names per virtual link; the VNFC hostname is always one. */
  aliases: Record<string, string[]>;
  /** The fleet's node-loss policy for the VNFC; default `keep` (the NFVO heals). */
  onNodeLoss?: "replace" | "keep";
  /** Placement preferences; in memory only (a relaunch that prefers its node), not part of the v1 format. */
  preferences?: Preference[];
}

type FogSpecV1Input = z.input<typeof fogSpecV1Schema>;

/** A spec with nothing in it (what a VNFC launched without a fog spec runs with). */
export function emptyFogSpec(): FogSpec {
  return {
    env: {},
    ports: [],
    volumes: [],
    devices: [],
    resources: {},
    constraints: [],
    labels: {},
    dns: [],
    aliases: {},
  };
}

/** Validates a v1 JSON object and reads it into a FogSpec; errors are BAD_REQUEST naming `source` and the field. */
export function readFogSpecV1(json: unknown, source: string): FogSpec {
  const spec = parseWith(fogSpecV1Schema, json, source, "BAD_REQUEST");
  const resources: FogSpec["resources"] = {};
  if (spec.resources.cpus !== undefined) resources.cpus = spec.resources.cpus;
  if (spec.resources.memory !== undefined) {
    resources.memoryBytes = parseBytes(spec.resources.memory, `${source}: resources.memory`);
  }
  if (spec.resources.disk !== undefined) {
    resources.diskBytes = parseBytes(spec.resources.disk, `${source}: resources.disk`);
  }
  return { ...spec, resources };
}

/** A FogSpec as v1 JSON (resources in bytes), what formatFogSpec writes. */
export function fogSpecToV1(spec: FogSpec): FogSpecV1Input {
  const resources: NonNullable<FogSpecV1Input["resources"]> = {};
  if (spec.resources.cpus !== undefined) resources.cpus = spec.resources.cpus;
  if (spec.resources.memoryBytes !== undefined) resources.memory = spec.resources.memoryBytes;
  if (spec.resources.diskBytes !== undefined) resources.disk = spec.resources.diskBytes;
  return {
    constraints: spec.constraints,
    env: spec.env,
    ...(spec.command === undefined ? {} : { command: spec.command }),
    ports: spec.ports.map((p) =>
      p.host === undefined ? { container: p.container, protocol: p.protocol } : { ...p },
    ),
    volumes: spec.volumes,
    devices: spec.devices,
    resources,
    ...(spec.restart === undefined ? {} : { restart: spec.restart }),
    labels: spec.labels,
    ...(spec.hostname === undefined ? {} : { hostname: spec.hostname }),
    dns: spec.dns,
    aliases: spec.aliases,
    ...(spec.onNodeLoss === undefined ? {} : { onNodeLoss: spec.onNodeLoss }),
  };
}

/**
 * A copy of `spec` (or of the empty spec) with `env` added and `constraints` appended: a VNFC re-created with
 * dependency values, pinned to its node.
 */
export function amendFogSpec(
  spec: FogSpec | undefined,
  env: Record<string, string>,
  constraints: ConstraintInput[],
): FogSpec {
  const base = spec ?? emptyFogSpec();
  return { ...base, env: { ...base.env, ...env }, constraints: [...base.constraints, ...constraints] };
}

/** Finds and validates the fog spec in userdata; undefined when there is none. Errors name the field. */
export function parseFogSpec(userdata: string): FogSpec | undefined {
  const markers = userdata.split("\n").filter((l) => l.trimStart().startsWith(FOG_SPEC_MARKER)).length;
  if (markers > 1) {
    throw new IotFogError(
      "BAD_REQUEST",
      `userdata fog spec: ${markers} "${FOG_SPEC_MARKER}" lines; write one`,
    );
  }
  const m = LINE.exec(userdata);
  if (m === null) {
    if (userdata.includes(FOG_SPEC_MARKER)) {
      throw new IotFogError(
        "BAD_REQUEST",
        `userdata fog spec: a "${FOG_SPEC_MARKER}v<N> <json>" line is malformed (marker without version or payload)`,
      );
    }
    return undefined;
  }
  const version = Number(m[1]);
  const payload = m[2] ?? "";
  const source = `userdata fog spec (iotfog-spec/v${version})`;
  if (version !== 1) {
    throw new IotFogError(
      "BAD_REQUEST",
      `${source}: version ${version} is not supported by this driver (it reads v1)`,
    );
  }
  let text = payload;
  if (!payload.startsWith("{")) {
    if (!/^[A-Za-z0-9_-]+={0,2}$/.test(payload)) {
      throw new IotFogError("BAD_REQUEST", `${source}: payload is neither JSON nor base64url JSON`);
    }
    text = Buffer.from(payload, "base64url").toString("utf8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new IotFogError("BAD_REQUEST", `${source}: not valid JSON (${(e as Error).message})`);
  }
  return readFogSpecV1(json, source);
}

/** Writes a v1 fog spec line (for VNFMs, tools and tests). */
export function formatFogSpec(spec: FogSpecV1Input, encoding: "json" | "base64url" = "json"): string {
  const json = JSON.stringify(spec);
  return `${FOG_SPEC_MARKER}v1 ${encoding === "json" ? json : Buffer.from(json, "utf8").toString("base64url")}`;
}

/**
 * Constraints carried in metadata maps (the VIM instance's and each connection point's): the key
 * `iotfog.constraints` holds one or more constraints separated by `;` or new lines, in Swarm syntax.
 */
export const METADATA_CONSTRAINTS_KEY = "iotfog.constraints";

export function constraintsFromMetadata(
  metadata: Record<string, string | null> | null | undefined,
): string[] {
  const raw = metadata?.[METADATA_CONSTRAINTS_KEY];
  if (raw === undefined || raw === null) return [];
  return raw
    .split(/[;\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
