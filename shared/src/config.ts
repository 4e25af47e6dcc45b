import { readFileSync } from "node:fs";
import yaml from "js-yaml";
import type { ZodType, ZodTypeDef } from "zod";
import { IotFogError, errorMessage } from "./errors";
import { parseWith } from "./validation";

/**
 * Environment overrides: `IOTFOG_MQTT__URL=mqtt://broker:1883` sets `mqtt.url`. Double underscores separate
 * levels, single underscores turn the following letter upper-case (`DATA_DIR` → `dataDir`), and values are
 * read as YAML scalars, so numbers and booleans keep their types.
 */
export function applyEnvOverrides(
  config: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  prefix = "IOTFOG_",
): Record<string, unknown> {
  const out = structuredClone(config);
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(prefix) || raw === undefined) continue;
    const rest = name.slice(prefix.length);
    if (!rest.includes("__") && RESERVED_ENV.has(rest)) continue;
    if (RESERVED_ENV_PREFIXES.some((p) => rest.startsWith(p))) continue;
    const keys = rest
      .split("__")
      .map((k) => k.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()));
    let cursor: Record<string, unknown> = out;
    for (const key of keys.slice(0, -1)) {
      const next = cursor[key];
      if (next === null || typeof next !== "object" || Array.isArray(next)) cursor[key] = {};
      cursor = cursor[key] as Record<string, unknown>;
    }
    const last = keys[keys.length - 1];
    if (last !== undefined) cursor[last] = parseScalar(raw);
  }
  return out;
}

/** Variables that steer logging and tooling, not the configuration document. */
const RESERVED_ENV = new Set(["LOG_LEVEL", "LOG_FORMAT", "LOG_SILENT", "CONFIG"]);
/** Families of variables read by the CLI, the set-up script, tests and benchmarks. */
const RESERVED_ENV_PREFIXES = ["API_", "SETUP_", "TEST_", "BENCH_"];

function parseScalar(raw: string): unknown {
  try {
    const v: unknown = yaml.load(raw, { schema: yaml.CORE_SCHEMA });
    return v === undefined ? raw : v;
  } catch {
    return raw;
  }
}

/** Parses YAML text, naming the source and line on a syntax error. */
export function parseYaml(text: string, source: string): unknown {
  try {
    return yaml.load(text, { filename: source, schema: yaml.CORE_SCHEMA });
  } catch (e) {
    if (e instanceof yaml.YAMLException) {
      const line = e.mark ? ` line ${e.mark.line + 1}, column ${e.mark.column + 1}` : "";
      throw new IotFogError("CONFIG_INVALID", `${source}:${line}: ${e.reason}`);
    }
    throw new IotFogError("CONFIG_INVALID", `${source}: ${errorMessage(e)}`);
  }
}

/**
 * Loads a YAML configuration file (or none: every field then comes from defaults and the environment),
 * applies environment overrides and validates the result. Every problem names the file and the field.
 */
export function loadConfig<T, Def extends ZodTypeDef, Input>(
  schema: ZodType<T, Def, Input>,
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): T {
  let doc: unknown = {};
  const source = file ?? "configuration";
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new IotFogError(
        code === "ENOENT" ? "CONFIG_NOT_FOUND" : "CONFIG_INVALID",
        code === "ENOENT"
          ? `config file not found: ${file}`
          : `cannot read config file ${file}: ${errorMessage(e)}`,
      );
    }
    doc = parseYaml(text, file) ?? {};
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new IotFogError("CONFIG_INVALID", `${source}: the document must be a mapping of settings`);
  }
  const merged = applyEnvOverrides(doc as Record<string, unknown>, env);
  return parseWith(schema, merged, source, "CONFIG_INVALID");
}
