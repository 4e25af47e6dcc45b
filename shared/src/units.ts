import { IotFogError } from "./errors";

/**
 * Quantities with units, as written in constraints and blueprints: `512MB`, `1GiB`, `1.2GHz`, `0.5`.
 * Decimal prefixes are powers of 1000 and binary ones powers of 1024 (as in Nomad and Kubernetes), so
 * `512MB` = 512,000,000 bytes and `512MiB` = 536,870,912 bytes. Byte and frequency units are case-insensitive
 * (`512mb` = `512MB`). Canonical units: bytes and hertz.
 */
export type Dimension = "bytes" | "frequency" | "none";

export interface Quantity {
  /** In canonical units: bytes, hertz, or the bare number. */
  value: number;
  dimension: Dimension;
}

const BYTE_FACTORS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  pib: 1024 ** 5,
  // Kubernetes-style suffixes without the B.
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
  ti: 1024 ** 4,
};

const FREQUENCY_FACTORS: Record<string, number> = { hz: 1, khz: 1e3, mhz: 1e6, ghz: 1e9 };

const QUANTITY_PATTERN = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*([a-z]*)\s*$/i;

/** Parses `1.2GHz`, `512MB`, `42`; undefined when the text is not a number with a known unit. */
export function parseQuantity(input: string | number): Quantity | undefined {
  if (typeof input === "number")
    return Number.isFinite(input) ? { value: input, dimension: "none" } : undefined;
  const match = QUANTITY_PATTERN.exec(input);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  if (!Number.isFinite(amount)) return undefined;
  const unit = (match[2] ?? "").toLowerCase();
  if (unit === "") return { value: amount, dimension: "none" };
  const byteFactor = BYTE_FACTORS[unit];
  if (byteFactor !== undefined) return { value: amount * byteFactor, dimension: "bytes" };
  const frequencyFactor = FREQUENCY_FACTORS[unit];
  if (frequencyFactor !== undefined) return { value: amount * frequencyFactor, dimension: "frequency" };
  return undefined;
}

/** True when the text names a number followed by letters (so an unknown unit deserves an error, not a string compare). */
export function looksLikeQuantity(input: string): boolean {
  return QUANTITY_PATTERN.test(input);
}

function unitError(field: string, input: unknown, expected: string): IotFogError {
  return new IotFogError("VALIDATION_FAILED", `${field}: ${JSON.stringify(input)} is not ${expected}`, {
    field,
  });
}

/** A byte count from `512MB`, `1GiB` or a plain number of bytes. Whole bytes (rounded down), never negative. */
export function parseBytes(input: unknown, field = "value"): number {
  if (typeof input !== "number" && typeof input !== "string")
    throw unitError(field, input, "a size such as 512MiB or 1GB");
  const q = parseQuantity(input);
  if (q === undefined || (q.dimension !== "bytes" && q.dimension !== "none") || q.value < 0) {
    throw unitError(field, input, "a size such as 512MiB or 1GB");
  }
  return Math.floor(q.value);
}

const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/i;
const DURATION_FACTORS: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };

/** A duration in milliseconds from `500ms`, `30s`, `2m`, `1h`; a bare number is taken as seconds. */
export function parseDurationMs(input: unknown, field = "value"): number {
  if (typeof input === "number" && Number.isFinite(input) && input >= 0) return Math.round(input * 1000);
  const match = typeof input === "string" ? DURATION_PATTERN.exec(input) : null;
  if (match === null) throw unitError(field, input, "a duration such as 500ms, 30s, 2m or 1h");
  return Math.round(Number(match[1]) * (DURATION_FACTORS[(match[2] ?? "s").toLowerCase()] ?? 1000));
}

/** A frequency in hertz from `1.2GHz`, `800MHz`; a bare number is taken as MHz (how CPUs are usually quoted). */
export function parseFrequencyHz(input: unknown, field = "value"): number {
  if (typeof input !== "number" && typeof input !== "string")
    throw unitError(field, input, "a frequency such as 1.2GHz");
  const q = parseQuantity(input);
  if (q === undefined || (q.dimension !== "frequency" && q.dimension !== "none") || q.value < 0) {
    throw unitError(field, input, "a frequency such as 1.2GHz");
  }
  return q.dimension === "none" ? q.value * 1e6 : q.value;
}

function trimmed(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

/** `1932735283` → `1.8GiB`: binary prefixes, one decimal, for explanations. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${trimmed(value)}${units[i] ?? "B"}`;
}

/** `1200000000` → `1.2GHz`. */
export function formatFrequency(hz: number): string {
  if (hz >= 1e9) return `${trimmed(hz / 1e9)}GHz`;
  if (hz >= 1e6) return `${trimmed(hz / 1e6)}MHz`;
  if (hz >= 1e3) return `${trimmed(hz / 1e3)}kHz`;
  return `${trimmed(hz)}Hz`;
}
