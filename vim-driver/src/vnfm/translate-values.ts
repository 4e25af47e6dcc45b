import { isIP } from "node:net";
import {
  deviceRequirementSchema,
  errorMessage,
  type ConstraintInput,
  type DeviceRequirement,
  type PortMapping,
  type RestartPolicy,
  type VolumeMount,
} from "@openiotfog/shared";
import { networkAliasSchema } from "../openbaton/fog-spec";

/**
 * The value syntaxes of the VNFD keys translate.ts reads (Docker `-p` ports, bind mounts, aliases, devices,
 * labels, restart policies, constraint lists). Each throws a plain Error saying what is wrong with the value;
 * translate.ts adds which key of which VNFD it came from.
 */

/** `a;b`, `a, b` → ["a", "b"]; empty parts dropped. */
export function splitList(value: string, separators: RegExp = /[;,]/): string[] {
  return value
    .split(separators)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (e) {
    throw new Error(`is not valid JSON (${errorMessage(e)})`);
  }
}

export function looksLikeJson(value: string): boolean {
  const t = value.trim();
  return t.startsWith("[") || t.startsWith("{");
}

function port(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new Error(`"${text}" is not a port number`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new Error(`port ${n} is outside 1-65535`);
  return n;
}

/** `5001`, `8080:80`, `0.0.0.0:8080:80/udp`: Docker `-p` syntax (a bare port is published on the same number). */
export function parsePublish(entry: string): PortMapping {
  const [spec, proto = "tcp"] = entry.split("/");
  if (proto !== "tcp" && proto !== "udp") throw new Error(`protocol "${proto}" must be tcp or udp`);
  const parts = (spec ?? "").split(":");
  if (parts.length === 1) {
    const p = port(parts[0] ?? "");
    return { container: p, host: p, protocol: proto };
  }
  const container = port(parts[parts.length - 1] ?? "");
  const host = port(parts[parts.length - 2] ?? "");
  if (parts.length === 3 && isIP(parts[0] ?? "") === 0)
    throw new Error(`"${parts[0]}" is not a host IP address`);
  if (parts.length > 3) throw new Error(`"${entry}" is not [ip:]host:container[/proto]`);
  return { container, host, protocol: proto };
}

export function parseExpose(entry: string): PortMapping {
  const [spec, proto = "tcp"] = entry.split("/");
  if (proto !== "tcp" && proto !== "udp") throw new Error(`protocol "${proto}" must be tcp or udp`);
  return { container: port(spec ?? ""), protocol: proto };
}

/** `src:dst[:ro|rw]` (go-docker-vnfm: `;`-separated bind mounts). */
export function parseVolume(entry: string): VolumeMount {
  const parts = entry.split(":");
  if (parts.length < 2 || parts.length > 3) throw new Error(`"${entry}" is not source:target[:ro]`);
  const [source = "", target = "", mode] = parts;
  if (source.trim() === "") throw new Error(`"${entry}" has an empty source`);
  if (!target.startsWith("/"))
    throw new Error(`target "${target}" must be an absolute path in the container`);
  if (mode !== undefined && mode !== "ro" && mode !== "rw")
    throw new Error(`mode "${mode}" must be ro or rw`);
  return { source, target, readOnly: mode === "ro" };
}

/** `mgmt:name1,name2;net_d:name3` → {mgmt: [name1, name2], net_d: [name3]}. */
export function parseAliases(value: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const group of splitList(value, /;/)) {
    const i = group.indexOf(":");
    if (i <= 0) throw new Error(`"${group}" is not network:alias1,alias2`);
    const net = group.slice(0, i).trim();
    const names = splitList(group.slice(i + 1), /,/);
    for (const n of names) {
      if (!networkAliasSchema.safeParse(n).success) throw new Error(`alias "${n}" is not a valid DNS name`);
    }
    out[net] = [...(out[net] ?? []), ...names];
  }
  return out;
}

const RESTART_ALIASES: Record<string, RestartPolicy> = {
  // Swarm restart_policy.condition values (what go-docker-vnfm passes to Swarm)...
  none: "no",
  "on-failure": "on-failure",
  any: "always",
  // ...and Docker's restart policies.
  no: "no",
  always: "always",
  "unless-stopped": "unless-stopped",
};

export function restartPolicy(value: string): RestartPolicy {
  const r = RESTART_ALIASES[value.trim().toLowerCase()];
  if (r === undefined) {
    throw new Error(`"${value}" must be one of ${Object.keys(RESTART_ALIASES).join(", ")}`);
  }
  return r;
}

/** `class=usb,vendorId=10c4;zigbee` or a JSON list of device requirements. */
export function parseDevices(value: string): DeviceRequirement[] {
  let raw: unknown[];
  if (looksLikeJson(value)) {
    const json = parseJson(value);
    raw = Array.isArray(json) ? json : [json];
  } else {
    raw = splitList(value, /;/).map((entry) => {
      if (!entry.includes("=")) return { class: entry };
      const o: Record<string, unknown> = {};
      for (const pair of splitList(entry, /,/)) {
        const i = pair.indexOf("=");
        if (i <= 0) throw new Error(`"${pair}" is not key=value`);
        const k = pair.slice(0, i).trim();
        const v = pair.slice(i + 1).trim();
        o[k] = k === "exclusive" ? v === "true" : v;
      }
      return o;
    });
  }
  return raw.map((d, i) => {
    const r = deviceRequirementSchema.safeParse(d);
    if (!r.success) {
      const issue = r.error.issues[0];
      const field = issue?.path.join(".") ?? "";
      throw new Error(
        `device ${i + 1}: ${field === "" ? "" : `field "${field}" `}${issue?.message ?? "invalid"}`,
      );
    }
    return r.data;
  });
}

export function parseLabels(value: string): Record<string, string> {
  if (looksLikeJson(value)) {
    const json = parseJson(value);
    if (typeof json !== "object" || json === null || Array.isArray(json))
      throw new Error("must be a JSON object");
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(json)) out[k] = String(v);
    return out;
  }
  const out: Record<string, string> = {};
  for (const pair of splitList(value)) {
    const i = pair.indexOf("=");
    if (i <= 0) throw new Error(`"${pair}" is not key=value`);
    out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return out;
}

export function constraintInputs(value: string): ConstraintInput[] {
  if (looksLikeJson(value)) {
    const json = parseJson(value);
    return (Array.isArray(json) ? json : [json]) as ConstraintInput[];
  }
  return splitList(value, /;/);
}
