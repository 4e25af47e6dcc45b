import { IotFogError } from "@openiotfog/shared";
import { fogSpecToV1, formatFogSpec, type FogSpec } from "../openbaton/fog-spec";
import type { UserdataEncoder } from "./ports";

/**
 * The VNFM's side of the userdata contract with the VIM driver (vim-driver/src/openbaton/fog-spec.ts, format
 * `iotfog-spec/v1`), used only for what goes to the NFVO (ALLOCATE_RESOURCES, SCALING): inside the process the
 * VNFM passes the FogSpec itself. The NFVO sends the same userdata for every VNFC of a VNF record
 * (ALLOCATE_RESOURCES carries one string), after replacing `#Hostname=` with `Hostname=<host>` in it. The spec
 * line is written in base64url, so that edit can never reach a value inside it (an environment value may well
 * contain `#Hostname=`).
 */

function sameSpec(a: FogSpec, b: FogSpec): boolean {
  return JSON.stringify(fogSpecToV1(a)) === JSON.stringify(fogSpecToV1(b));
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
    formatFogSpec(fogSpecToV1(first.spec), "base64url"),
    "",
  ].join("\n");
};
