import type * as Yaml from "yaml";
import type { Document, LineCounter, Node as YamlNode } from "yaml";
import { z } from "zod";
import { readConstraints, readPreferences, readSpread } from "../constraints/parse";
import type { InputProblem } from "../constraints/problems";
import { IotFogError, errorMessage } from "../errors";
import { parseBytes, parseDurationMs } from "../units";
import { fieldPath, issueMessage } from "../validation";
import { orderByDependencies } from "./dependencies";
import {
  nodeLossPolicies,
  restartPolicies,
  serviceNameSchema,
  serviceSpecSchema,
  type DeviceRequirementInput,
  type PortMapping,
  type ServiceSpec,
  type ServiceSpecInput,
  type VolumeMount,
} from "./spec";

/**
 * The service blueprint: a TOSCA-flavoured YAML document describing one or more containers (node templates of
 * type `openiotfog.nodes.Container`), their devices, placement and dependencies. Parsing is pure (text in,
 * ServiceSpecs out); every error names the source, the line and the field. Format: docs/placement.md.
 */
export const BLUEPRINT_VERSION = "openiotfog_blueprint_1_0";
export const CONTAINER_TYPE = "openiotfog.nodes.Container";

export interface Blueprint {
  name: string;
  description?: string;
  /** In dependency order: every service comes after those it depends on. */
  services: ServiceSpec[];
}

const stringMap = z.record(z.union([z.string(), z.number(), z.boolean()]));

const rawDeviceSchema = z
  .object({
    class: z.string().optional(),
    vendor_id: z.union([z.string(), z.number()]).optional(),
    product_id: z.union([z.string(), z.number()]).optional(),
    serial: z.union([z.string(), z.number()]).optional(),
    protocol: z.string().optional(),
    exclusive: z.boolean().optional(),
    container_path: z.string().optional(),
  })
  .strict();

const rawRequirementSchema = z.union([
  z.object({ dependency: z.string() }).strict(),
  z.object({ device: rawDeviceSchema }).strict(),
]);

const rawPropertiesSchema = z
  .object({
    image: z.string().min(1, "must not be empty"),
    command: z.union([z.string(), z.array(z.union([z.string(), z.number()]))]).optional(),
    environment: stringMap.optional(),
    ports: z.array(z.union([z.number(), z.string(), z.record(z.unknown())])).optional(),
    volumes: z.array(z.union([z.string(), z.record(z.unknown())])).optional(),
    restart: z.enum(restartPolicies).optional(),
    replicas: z.number().int().min(0).optional(),
    max_per_node: z.number().int().positive().optional(),
    /** docs/self-healing.md: `replace` or `keep` a replica whose node is lost, after `grace`; `fence_after`. */
    on_node_loss: z.enum(nodeLossPolicies).optional(),
    grace: z.union([z.string(), z.number()]).optional(),
    fence_after: z.union([z.string(), z.number()]).optional(),
    resources: z
      .object({
        cpus: z.number().positive().optional(),
        memory: z.union([z.string(), z.number()]).optional(),
        disk: z.union([z.string(), z.number()]).optional(),
      })
      .strict()
      .optional(),
    networks: z.array(z.string()).optional(),
    hostname: z.string().optional(),
    dns: z.array(z.string()).optional(),
    labels: stringMap.optional(),
  })
  .strict();

const rawPlacementSchema = z
  .object({
    constraints: z.unknown().optional(),
    preferences: z.unknown().optional(),
    spread: z.unknown().optional(),
  })
  .strict();

const rawTemplateSchema = z
  .object({
    type: z.literal(CONTAINER_TYPE, { errorMap: () => ({ message: `must be ${CONTAINER_TYPE}` }) }),
    description: z.string().optional(),
    properties: rawPropertiesSchema,
    requirements: z.array(rawRequirementSchema).optional(),
    placement: rawPlacementSchema.optional(),
  })
  .strict();

const rawBlueprintSchema = z
  .object({
    tosca_definitions_version: z.literal(BLUEPRINT_VERSION, {
      errorMap: () => ({ message: `must be ${BLUEPRINT_VERSION}` }),
    }),
    description: z.string().optional(),
    metadata: z.object({ name: serviceNameSchema }).passthrough(),
    topology_template: z
      .object({
        node_templates: z
          .record(rawTemplateSchema)
          .refine((t) => Object.keys(t).length > 0, "needs at least one node template"),
      })
      .strict(),
  })
  .strict();

type RawTemplate = z.infer<typeof rawTemplateSchema>;
type Path = Array<string | number>;

/** `8080`, `"8080:80"` (host:container), `"5683/udp"`, or `{container, host, protocol}`. */
function readPort(entry: unknown, path: Path, problems: InputProblem[]): PortMapping | undefined {
  const bad = (message: string): undefined => {
    problems.push({ path, message });
    return undefined;
  };
  if (typeof entry === "number") return { container: entry, protocol: "tcp" };
  if (typeof entry === "string") {
    const m = /^(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(entry.trim());
    if (m === null) return bad(`port ${JSON.stringify(entry)} must look like 8080, "8080:80" or "5683/udp"`);
    const port: PortMapping = {
      container: Number(m[2]),
      protocol: (m[3] as "tcp" | "udp" | undefined) ?? "tcp",
    };
    if (m[1] !== undefined) port.host = Number(m[1]);
    return port;
  }
  return entry as PortMapping;
}

/** `"/srv/data:/data"`, `"/srv/data:/data:ro"`, `"named:/data"`, or `{source, target, read_only}`. */
function readVolume(entry: unknown, path: Path, problems: InputProblem[]): VolumeMount | undefined {
  if (typeof entry === "string") {
    const parts = entry.split(":");
    const [source, target, mode] = parts;
    if (
      parts.length < 2 ||
      parts.length > 3 ||
      !source ||
      !target ||
      (mode !== undefined && mode !== "ro" && mode !== "rw")
    ) {
      problems.push({
        path,
        message: `volume ${JSON.stringify(entry)} must look like "/host/path:/container/path[:ro]"`,
      });
      return undefined;
    }
    return { source, target, readOnly: mode === "ro" };
  }
  const o = entry as Record<string, unknown>;
  const { read_only: readOnly, ...rest } = o;
  return { ...rest, readOnly: readOnly ?? false } as VolumeMount;
}

function hexText(v: string | number | undefined): string | undefined {
  // YAML reads `10c4` as text but `1234` as a number; both are hexadecimal ids here.
  return v === undefined ? undefined : String(v);
}

function toServiceInput(
  name: string,
  t: RawTemplate,
  base: Path,
  problems: InputProblem[],
): ServiceSpecInput {
  const p = t.properties;
  const at = (...rest: Path): Path => [...base, ...rest];
  const spec: ServiceSpecInput = { name, image: p.image };
  if (p.command !== undefined) {
    // A string is a shell command line, as in Compose's `command: "httpd -f"` run through sh -c.
    spec.command = typeof p.command === "string" ? ["sh", "-c", p.command] : p.command.map(String);
  }
  if (p.environment)
    spec.env = Object.fromEntries(Object.entries(p.environment).map(([k, v]) => [k, String(v)]));
  if (p.labels) spec.labels = Object.fromEntries(Object.entries(p.labels).map(([k, v]) => [k, String(v)]));
  if (p.ports) {
    spec.ports = p.ports
      .map((e, i) => readPort(e, at("properties", "ports", i), problems))
      .filter((x) => x !== undefined);
  }
  if (p.volumes) {
    spec.volumes = p.volumes
      .map((e, i) => readVolume(e, at("properties", "volumes", i), problems))
      .filter((x) => x !== undefined);
  }
  if (p.restart !== undefined) spec.restart = p.restart;
  if (p.replicas !== undefined) spec.replicas = p.replicas;
  if (p.max_per_node !== undefined) spec.maxPerNode = p.max_per_node;
  if (p.on_node_loss !== undefined || p.grace !== undefined || p.fence_after !== undefined) {
    const failover: NonNullable<ServiceSpecInput["failover"]> = {};
    if (p.on_node_loss !== undefined) failover.onNodeLoss = p.on_node_loss;
    for (const [key, field] of [
      ["grace", "graceMs"],
      ["fence_after", "fenceAfterMs"],
    ] as const) {
      const value = p[key];
      if (value === undefined) continue;
      try {
        failover[field] = parseDurationMs(value, key);
      } catch (e) {
        problems.push({ path: at("properties", key), message: (e as Error).message.replace(/^\w+: /, "") });
      }
    }
    spec.failover = failover;
  }
  if (p.networks !== undefined) spec.networks = p.networks;
  if (p.hostname !== undefined) spec.hostname = p.hostname;
  if (p.dns !== undefined) spec.dns = p.dns;
  if (p.resources !== undefined) {
    const r = p.resources;
    const resources: NonNullable<ServiceSpecInput["resources"]> = {};
    if (r.cpus !== undefined) resources.cpus = r.cpus;
    for (const [key, field] of [
      ["memory", "memoryBytes"],
      ["disk", "diskBytes"],
    ] as const) {
      const value = r[key];
      if (value === undefined) continue;
      try {
        resources[field] = parseBytes(value, key);
      } catch (e) {
        problems.push({
          path: at("properties", "resources", key),
          message: (e as Error).message.replace(/^\w+: /, ""),
        });
      }
    }
    spec.resources = resources;
  }
  const dependsOn: string[] = [];
  const devices: DeviceRequirementInput[] = [];
  (t.requirements ?? []).forEach((req) => {
    if ("dependency" in req) dependsOn.push(req.dependency);
    else {
      const d = req.device;
      const device: DeviceRequirementInput = {};
      if (d.class !== undefined) device.class = d.class;
      if (d.vendor_id !== undefined) device.vendorId = hexText(d.vendor_id);
      if (d.product_id !== undefined) device.productId = hexText(d.product_id);
      if (d.serial !== undefined) device.serial = String(d.serial);
      if (d.protocol !== undefined) device.protocol = d.protocol;
      if (d.exclusive !== undefined) device.exclusive = d.exclusive;
      if (d.container_path !== undefined) device.containerPath = d.container_path;
      devices.push(device);
    }
  });
  spec.dependsOn = dependsOn;
  spec.devices = devices;
  const placement = t.placement ?? {};
  spec.constraints = readConstraints(placement.constraints, at("placement", "constraints"), problems);
  spec.preferences = readPreferences(placement.preferences, at("placement", "preferences"), problems);
  spec.spread = readSpread(placement.spread, at("placement", "spread"), problems);
  return spec;
}

/** Maps a ServiceSpec field path back to where it was written in the blueprint (for the line number). */
function blueprintPathOf(base: Path, specPath: Path): { path: Path; exact: boolean } {
  const [head, ...rest] = specPath;
  const map: Record<string, Path> = {
    image: ["properties", "image"],
    command: ["properties", "command"],
    env: ["properties", "environment"],
    ports: ["properties", "ports"],
    volumes: ["properties", "volumes"],
    devices: ["requirements"],
    resources: ["properties", "resources"],
    networks: ["properties", "networks"],
    hostname: ["properties", "hostname"],
    dns: ["properties", "dns"],
    labels: ["properties", "labels"],
    dependsOn: ["requirements"],
    name: [],
  };
  const mapped = typeof head === "string" ? map[head] : undefined;
  // Devices and dependencies are both written as requirements, in one list: indexes do not carry over.
  if (mapped === undefined || head === "devices" || head === "dependsOn")
    return { path: [...base, ...(mapped ?? [])], exact: false };
  return { path: [...base, ...mapped, ...rest], exact: true };
}

/** 1-based line of the deepest node on `path` that exists in the document. */
function lineOf(doc: Document, lines: LineCounter, path: Path): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as YamlNode | undefined;
    const range = node !== undefined && node !== null && typeof node === "object" ? node.range : undefined;
    // A missing key has no node: the nearest existing ancestor (the mapping that should hold it) gives the line.
    if (range) return lines.linePos(range[0]).line;
  }
  return undefined;
}

function located(source: string, doc: Document, lines: LineCounter, problems: InputProblem[]): IotFogError {
  const messages = problems.map((p) => {
    const line = lineOf(doc, lines, p.path);
    return `${source}:${line ?? "?"}: field "${fieldPath(p.path)}": ${p.message}`;
  });
  return new IotFogError("VALIDATION_FAILED", messages.join("; "), { problems: messages, source });
}

/** Parses a blueprint. Throws IotFogError VALIDATION_FAILED whose message names file, line and field of every problem. */
export function parseBlueprint(text: string, source = "blueprint"): Blueprint {
  // Required here, not at load: processes that never read a blueprint (the edge agent) keep `yaml` out of memory.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require("yaml") as typeof Yaml;
  const lines = new yaml.LineCounter();
  // logLevel error: yaml's warnings (e.g. on collection keys) would go to stderr once per remote input.
  const doc = yaml.parseDocument(text, {
    lineCounter: lines,
    prettyErrors: true,
    uniqueKeys: true,
    logLevel: "error",
  });
  if (doc.errors.length > 0) {
    const messages = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return `${source}:${pos ? `${pos.line}:${pos.col}` : "?"}: ${(e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, "")}`;
    });
    throw new IotFogError("VALIDATION_FAILED", `YAML syntax: ${messages.join("; ")}`, {
      problems: messages,
      source,
    });
  }
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // yaml refuses an alias bomb ("billion laughs") here, with a ReferenceError: it is the input's fault.
    throw new IotFogError("VALIDATION_FAILED", `${source}: YAML: ${errorMessage(e)}`, { source });
  }
  const raw = rawBlueprintSchema.safeParse(js);
  if (!raw.success) {
    throw located(
      source,
      doc,
      lines,
      raw.error.issues.map((i) => ({ path: i.path, message: issueMessage(i) })),
    );
  }
  const problems: InputProblem[] = [];
  const inputs: Array<{ base: Path; input: ServiceSpecInput }> = [];
  for (const [name, template] of Object.entries(raw.data.topology_template.node_templates)) {
    const base: Path = ["topology_template", "node_templates", name];
    const nameCheck = serviceNameSchema.safeParse(name);
    if (!nameCheck.success)
      problems.push({
        path: base,
        message: `service name ${nameCheck.error.issues[0]?.message ?? "is invalid"}`,
      });
    inputs.push({ base, input: toServiceInput(name, template, base, problems) });
  }
  const names = new Set(inputs.map((i) => i.input.name));
  const services: ServiceSpec[] = [];
  for (const { base, input } of inputs) {
    (input.dependsOn ?? []).forEach((d) => {
      if (!names.has(d))
        problems.push({ path: [...base, "requirements"], message: `depends on unknown node template ${d}` });
      if (d === input.name) problems.push({ path: [...base, "requirements"], message: "depends on itself" });
    });
    const parsed = serviceSpecSchema.safeParse(input);
    if (parsed.success) services.push(parsed.data);
    else
      for (const i of parsed.error.issues) {
        if (i.path[0] === "name") continue; // reported above, with the template's own line
        const { path, exact } = blueprintPathOf(base, i.path);
        // When the blueprint path is only approximate, say which ServiceSpec field is meant.
        const message = issueMessage(i);
        problems.push({ path, message: exact ? message : `${fieldPath(i.path)}: ${message}` });
      }
  }
  if (problems.length > 0) throw located(source, doc, lines, problems);
  const blueprint: Blueprint = {
    name: raw.data.metadata.name,
    services: orderByDependencies(services, source),
  };
  if (raw.data.description !== undefined) blueprint.description = raw.data.description;
  return blueprint;
}
