import type { NodeCapabilities } from "../capabilities/model";
import { ConstraintProblem } from "./problems";

/**
 * Node attributes that constraints can name (documented in docs/placement.md). Each resolves once per request
 * to a reader, so evaluating a constraint on a node is a property read plus a comparison.
 */
export type AttributeKind = "string" | "number" | "bytes" | "frequency" | "version" | "set";
export type AttributeValue = string | number | readonly string[];

/** What attribute readers see of a node: its capabilities plus the accounting placement did. */
export interface AttributeSource {
  readonly caps: NodeCapabilities;
  readonly freeCpus: number;
  readonly freeMemoryBytes: number;
  readonly freeDiskBytes: number;
  readonly deviceClasses: readonly string[];
  readonly freeDeviceClasses: readonly string[];
  readonly softwareNames: readonly string[];
  softwareVersion(name: string): string | undefined;
}

export interface AttributeInfo {
  name: string;
  kind: AttributeKind;
  read: (node: AttributeSource) => AttributeValue | undefined;
  /** Maps a constraint value to the attribute's canonical spelling (Docker's `x86_64` → `amd64`). */
  canonicalValue?: (value: string) => string;
}

/** Docker / uname spellings of architectures, so Swarm stacks with `node.platform.arch==x86_64` carry over. */
const ARCH_ALIASES: Record<string, string> = {
  x86_64: "amd64",
  "x86-64": "amd64",
  aarch64: "arm64",
  armv7l: "arm",
  armv7: "arm",
  armv6l: "arm",
  armhf: "arm",
  armel: "arm",
};

const FIXED: Record<string, Omit<AttributeInfo, "name">> = {
  "node.id": { kind: "string", read: (n) => n.caps.nodeId },
  "node.hostname": { kind: "string", read: (n) => n.caps.hostname },
  "node.role": { kind: "string", read: (n) => n.caps.role },
  "node.platform.arch": {
    kind: "string",
    read: (n) => n.caps.platform.arch,
    canonicalValue: (v) => ARCH_ALIASES[v.toLowerCase()] ?? v.toLowerCase(),
  },
  "node.platform.os": { kind: "string", read: (n) => n.caps.platform.os },
  "node.platform.kernel": { kind: "version", read: (n) => n.caps.platform.kernel || undefined },
  "node.agent.version": { kind: "version", read: (n) => n.caps.agentVersion },
  "node.resources.cpu.cores": { kind: "number", read: (n) => n.caps.resources.cpu.cores },
  "node.resources.cpu.free": { kind: "number", read: (n) => n.freeCpus },
  "node.resources.cpu.mhz": {
    kind: "frequency",
    read: (n) => (n.caps.resources.cpu.mhz === undefined ? undefined : n.caps.resources.cpu.mhz * 1e6),
  },
  "node.resources.memory.total": { kind: "bytes", read: (n) => n.caps.resources.memory.totalBytes },
  "node.resources.memory.free": { kind: "bytes", read: (n) => n.freeMemoryBytes },
  "node.resources.disk.total": { kind: "bytes", read: (n) => n.caps.resources.disk.totalBytes },
  "node.resources.disk.free": { kind: "bytes", read: (n) => n.freeDiskBytes },
  "node.protocols": { kind: "set", read: (n) => n.caps.protocols },
  "node.software": { kind: "set", read: (n) => n.softwareNames },
  "node.devices.classes": { kind: "set", read: (n) => n.deviceClasses },
  "node.devices.free_classes": { kind: "set", read: (n) => n.freeDeviceClasses },
};

/** Attributes with a free key after a prefix. */
const PREFIXED: Array<{ prefix: string; make: (key: string) => Omit<AttributeInfo, "name"> }> = [
  { prefix: "node.labels.", make: (key) => ({ kind: "string", read: (n) => n.caps.labels[key] }) },
  { prefix: "engine.labels.", make: (key) => ({ kind: "string", read: (n) => n.caps.engineLabels[key] }) },
  { prefix: "node.software.", make: (key) => ({ kind: "version", read: (n) => n.softwareVersion(key) }) },
];

/** Every attribute name and prefix, for error messages and documentation tests. */
export const attributeNames: readonly string[] = [
  ...Object.keys(FIXED),
  ...PREFIXED.map((p) => `${p.prefix}<key>`),
];

const cache = new Map<string, AttributeInfo>();

/** Resolves an attribute name; throws a ConstraintProblem naming the known attributes when it is unknown. */
export function resolveAttribute(name: string): AttributeInfo {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  let info: AttributeInfo | undefined;
  const fixed = FIXED[name];
  if (fixed !== undefined) info = { name, ...fixed };
  else {
    for (const { prefix, make } of PREFIXED) {
      if (!name.startsWith(prefix)) continue;
      const key = name.slice(prefix.length);
      if (key === "") throw new ConstraintProblem(`attribute "${name}" needs a key after "${prefix}"`);
      info = { name, ...make(key) };
      break;
    }
  }
  if (info === undefined) {
    throw new ConstraintProblem(`unknown attribute "${name}" (known: ${attributeNames.join(", ")})`);
  }
  cache.set(name, info);
  return info;
}
