import { isIP } from "node:net";
import { IotFogError, errorMessage, hostNameSchema, parseBytes, parseConstraints } from "@openiotfog/shared";
import { emptyFogSpec, type FogSpec } from "../openbaton/fog-spec";
import {
  constraintInputs,
  looksLikeJson,
  parseAliases,
  parseDevices,
  parseExpose,
  parseJson,
  parseLabels,
  parsePublish,
  parseVolume,
  restartPolicy,
  splitList,
} from "./translate-values";

/**
 * Turns a VNFD's configuration parameters and a VDU's metadata into the fog service description that travels to
 * the VIM driver in `userdata` (see userdata.ts). Two vocabularies are accepted:
 *
 * - the keys of Open Baton's Docker VNFM (openbaton/go-docker-vnfm `FillConfig`), unchanged: `cmd`/`command`,
 *   `publish`, `expose`, `aliases`, `volumes`, `dns`, `hostname`, `restart_policy_condition`, `constraints`
 *   (Swarm syntax, `;`-separated); any other key becomes an environment variable `KEY=value`;
 * - fog keys under `fog.`: `fog.devices`, `fog.cpus`, `fog.memory`, `fog.disk`, `fog.constraints` (the full
 *   constraint language of docs/placement.md), `fog.restart`, `fog.maxPerNode`, `fog.labels`.
 *
 * Keys are matched case-insensitively and exactly (go-docker-vnfm matched substrings, so `MY_DNS_NAME` became a
 * DNS server there; here it is an environment variable). A `fog.` key we do not know, or a value we cannot read,
 * is an error naming the key: a typo must never silently become an environment variable.
 */

export type { FogSpec };
export { parseAliases, parseDevices, parsePublish, parseVolume } from "./translate-values";

/** Every key this module interprets (lower case), for error messages and the how-to. */
export const DOCKER_VNFM_KEYS = [
  "cmd",
  "command",
  "publish",
  "expose",
  "aliases",
  "volumes",
  "dns",
  "hostname",
  "restart_policy_condition",
  "constraints",
] as const;
export const FOG_KEYS = [
  "fog.devices",
  "fog.cpus",
  "fog.memory",
  "fog.disk",
  "fog.constraints",
  "fog.restart",
  "fog.maxpernode",
  "fog.labels",
] as const;

/** Where a key came from, for error messages: `VNFD "iperf-client" configuration key "fog.memory"`. */
export interface KeySource {
  /** e.g. `VNFD "iperf-client" configuration` or `VNFD "x" VDU "vdu1" metadata`. */
  where: string;
}

class Problems {
  readonly list: string[] = [];
  add(source: KeySource, key: string, message: string): void {
    this.list.push(`${source.where} key "${key}": ${message}`);
  }
}

/** Docker accepts any environment variable name without `=`; NUL cannot cross exec. */
const ENV_NAME = /^[^=\0\s]+$/;

/** What one or more key sources gave, before the constraint language is checked. */
interface Gathered {
  spec: FogSpec;
  maxPerNode?: number;
}

function emptyGathered(): Gathered {
  return { spec: emptyFogSpec() };
}

/** Reads one key/value pair into `g`. `envAllowed` is false for VDU metadata (free keys there are not env). */
function readKey(g: Gathered, key: string, value: string, envAllowed: boolean): "used" | "ignored" {
  const k = key.trim().toLowerCase();
  const s = g.spec;
  switch (k) {
    case "cmd":
    case "command": {
      if (looksLikeJson(value)) {
        const json = parseJson(value);
        if (!Array.isArray(json) || !json.every((x) => typeof x === "string")) {
          throw new Error("must be a command line or a JSON list of strings");
        }
        s.command = json;
      } else {
        // go-docker-vnfm splits on spaces; so do we, dropping empty parts.
        s.command = value.split(" ").filter((p) => p !== "");
      }
      if (s.command.length === 0) throw new Error("must not be empty");
      return "used";
    }
    case "publish":
      for (const entry of splitList(value)) s.ports.push(parsePublish(entry));
      return "used";
    case "expose":
      for (const entry of splitList(value)) s.ports.push(parseExpose(entry));
      return "used";
    case "aliases":
      for (const [net, names] of Object.entries(parseAliases(value))) {
        s.aliases[net] = [...new Set([...(s.aliases[net] ?? []), ...names])];
      }
      return "used";
    case "volumes":
      for (const entry of splitList(value, /;/)) s.volumes.push(parseVolume(entry));
      return "used";
    case "dns":
      for (const entry of splitList(value)) {
        if (isIP(entry) === 0) throw new Error(`"${entry}" is not an IP address`);
        if (!s.dns.includes(entry)) s.dns.push(entry);
      }
      return "used";
    case "hostname":
      if (!hostNameSchema.safeParse(value.trim()).success)
        throw new Error(`"${value}" is not a valid host name`);
      s.hostname = value.trim();
      return "used";
    case "restart_policy_condition":
    case "fog.restart":
      s.restart = restartPolicy(value);
      return "used";
    case "constraints":
    case "fog.constraints":
      s.constraints.push(...constraintInputs(value));
      return "used";
    case "fog.devices":
      s.devices.push(...parseDevices(value));
      return "used";
    case "fog.cpus": {
      const n = Number(value.trim());
      if (value.trim() === "" || !Number.isFinite(n) || n <= 0)
        throw new Error(`"${value}" is not a positive number of cores`);
      s.resources = { ...s.resources, cpus: n };
      return "used";
    }
    case "fog.memory":
    case "fog.disk": {
      const bytes = parseBytes(value.trim(), key);
      if (bytes <= 0) throw new Error(`"${value}" must be more than 0`);
      s.resources = { ...s.resources, [k === "fog.memory" ? "memoryBytes" : "diskBytes"]: bytes };
      return "used";
    }
    case "fog.maxpernode": {
      if (!/^\d+$/.test(value.trim()) || Number(value) < 1)
        throw new Error(`"${value}" is not a whole number >= 1`);
      g.maxPerNode = Number(value);
      return "used";
    }
    case "fog.labels":
      Object.assign(s.labels, parseLabels(value));
      return "used";
    default:
      if (k.startsWith("fog.")) {
        throw new Error(`unknown fog key (known: ${FOG_KEYS.join(", ")})`);
      }
      if (!envAllowed) return "ignored";
      if (!ENV_NAME.test(key)) throw new Error("is not a valid environment variable name");
      s.env[key] = value;
      return "used";
  }
}

export interface TranslationInput {
  vnfdName: string;
  /** VNFD / VNFR configuration parameters, in order. */
  configuration: Array<[string, string]>;
  /** Per VDU (keyed by what names it in messages): its metadata map and the virtual links its VNFCs attach to. */
  vdus: Array<{ label: string; metadata: Record<string, string>; virtualLinks: string[] }>;
}

/**
 * Translates one VNF: the configuration applies to every VDU, a VDU's `fog.*` / `constraints` metadata adds to
 * it (single values such as `fog.memory` override). Throws VALIDATION_FAILED listing every bad key.
 */
export function translateVnf(input: TranslationInput): Map<string, FogSpec> {
  const problems = new Problems();
  const base = emptyGathered();
  const configSource: KeySource = { where: `VNFD "${input.vnfdName}" configuration` };
  for (const [key, value] of input.configuration) {
    try {
      readKey(base, key, value, true);
    } catch (e) {
      problems.add(configSource, key, errorMessage(e));
    }
  }
  const out = new Map<string, FogSpec>();
  for (const vdu of input.vdus) {
    const g: Gathered = structuredClone(base);
    const source: KeySource = { where: `VNFD "${input.vnfdName}" VDU "${vdu.label}" metadata` };
    for (const [key, value] of Object.entries(vdu.metadata)) {
      try {
        readKey(g, key, value, false);
      } catch (e) {
        problems.add(source, key, errorMessage(e));
      }
    }
    for (const net of Object.keys(g.spec.aliases)) {
      if (!vdu.virtualLinks.includes(net)) {
        problems.list.push(
          `VNFD "${input.vnfdName}" key "aliases": network "${net}" is not a virtual link of VDU "${vdu.label}" ` +
            `(its links: ${vdu.virtualLinks.join(", ") || "none"})`,
        );
      }
    }
    const constraints = [...g.spec.constraints];
    if (g.maxPerNode !== undefined) constraints.push(`max_per_node ${g.maxPerNode}`);
    try {
      parseConstraints(constraints, `VNFD "${input.vnfdName}" VDU "${vdu.label}" constraints`);
    } catch (e) {
      problems.list.push(errorMessage(e));
    }
    out.set(vdu.label, { ...g.spec, constraints });
  }
  if (problems.list.length > 0) {
    throw new IotFogError("VALIDATION_FAILED", [...new Set(problems.list)].join("; "), {
      problems: problems.list,
    });
  }
  return out;
}
