import { IotFogError, type ConstraintInput } from "@openiotfog/shared";
import { formatFogSpec, parseFogSpec, type fogSpecV1Schema } from "../openbaton/fog-spec";
import type { UserdataEncoder } from "./ports";
import type { FogSpec } from "./translate";
import type { z } from "zod";

/**
 * The VNFM's side of the userdata contract with the VIM driver (vim-driver/src/openbaton/fog-spec.ts, format
 * `iotfog-spec/v1`). The NFVO sends the same userdata for every VNFC of a VNF record (ALLOCATE_RESOURCES carries
 * one string), after replacing `#Hostname=` with `Hostname=<host>` in it. The spec line is written in base64url,
 * so that edit can never reach a value inside it (an environment value may well contain `#Hostname=`).
 */

type FogSpecV1Input = z.input<typeof fogSpecV1Schema>;

/** FogSpec (translate.ts) → the driver's v1 JSON. */
export function toFogSpecV1(spec: FogSpec): FogSpecV1Input {
  const resources: NonNullable<FogSpecV1Input["resources"]> = {};
  if (spec.resources.cpus !== undefined) resources.cpus = spec.resources.cpus;
  if (spec.resources.memoryBytes !== undefined) resources.memory = spec.resources.memoryBytes;
  if (spec.resources.diskBytes !== undefined) resources.disk = spec.resources.diskBytes;
  return {
    constraints: spec.constraints as Array<string | Record<string, unknown>>,
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
  };
}

function sameSpec(a: FogSpec, b: FogSpec): boolean {
  return JSON.stringify(toFogSpecV1(a)) === JSON.stringify(toFogSpecV1(b));
}

/** The userdata text: a shell comment header and the spec line. */
export const encodeUserdata: UserdataEncoder = ({ vnfr, vdus }) => {
  const name = typeof vnfr.name === "string" ? vnfr.name : "VNF";
  const [first, ...rest] = vdus;
  if (first === undefined) throw new IotFogError("VALIDATION_FAILED", `VNFD "${name}" has no VDU`);
  const differing = rest.filter((v) => !sameSpec(v.spec, first.spec));
  if (differing.length > 0) {
    // The NFVO passes one userdata string to every VNFC of the record: per-VDU specs cannot travel.
    throw new IotFogError(
      "VALIDATION_FAILED",
      `VNFD "${name}": VDUs ${[first, ...differing].map((v) => `"${v.label}"`).join(", ")} need different fog specs ` +
        "(their metadata differ), but Open Baton sends one userdata for all VNFCs of a VNF; " +
        "put those VDUs in separate VNFDs, or move the keys to the VNFD configuration",
    );
  }
  return [
    "#!/bin/sh",
    `# OpenIoTFog fog spec of VNF ${name.replace(/[\r\n]/g, " ")}, written by the fog VNFM; read by the VIM driver.`,
    formatFogSpec(toFogSpecV1(first.spec), "base64url"),
    "",
  ].join("\n");
};

/**
 * A copy of the userdata with `env` added and `constraints` appended (used to re-create a VNFC with dependency
 * values, pinned to its node). Lines other than the spec line are kept.
 */
export function amendUserdata(
  userdata: string,
  env: Record<string, string>,
  constraints: ConstraintInput[],
): string {
  const parsed = parseFogSpec(userdata);
  const spec: FogSpecV1Input = parsed
    ? {
        ...parsed,
        resources: {
          ...(parsed.resources.cpus === undefined ? {} : { cpus: parsed.resources.cpus }),
          ...(parsed.resources.memoryBytes === undefined ? {} : { memory: parsed.resources.memoryBytes }),
          ...(parsed.resources.diskBytes === undefined ? {} : { disk: parsed.resources.diskBytes }),
        },
      }
    : {};
  const amended: FogSpecV1Input = {
    ...spec,
    env: { ...(spec.env ?? {}), ...env },
    constraints: [...(spec.constraints ?? []), ...(constraints as Array<string | Record<string, unknown>>)],
  };
  const line = formatFogSpec(amended, "base64url");
  const lines = userdata.split("\n").filter((l) => !/^[ \t]*#iotfog-spec\//.test(l));
  return [...lines.filter((l, i) => l !== "" || i < lines.length - 1), line, ""].join("\n");
}
