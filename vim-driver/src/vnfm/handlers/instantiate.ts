import { errorMessage, parseWith } from "@openiotfog/shared";
import type { FogSpec } from "../../openbaton/fog-spec";
import {
  allocateReplySchema,
  errorReply,
  grantReplySchema,
  nfvoErrorReplySchema,
  vnfrReply,
  type InstantiateMessage,
  type Json,
  type Vdu,
} from "../messages";
import { buildVnfr, configurationPairs, instancesOf, vcIdOf } from "../records";
import { translateVnf } from "../translate";
import { envKey, type VnfmContext } from "./context";

/** A VDU's label in messages and errors: its name, else its (parent) VDU id. */
function vduLabel(vdu: Vdu, idField: "id" | "parent_vdu"): string {
  const v = vdu as Vdu & Json;
  if (typeof vdu.name === "string" && vdu.name !== "") return vdu.name;
  const id = v[idField];
  return typeof id === "string" && id !== "" ? id : "vdu";
}

/**
 * With `vnfm.autoHeal` the fleet places a VNFC of a lost node again itself (the VNFM then sends UPDATEVNFR);
 * without it the fleet waits for the node and the NFVO heals (the launch translation's default, `keep`).
 */
function withNodeLossPolicy(spec: FogSpec, autoHeal: boolean): FogSpec {
  return autoHeal ? { ...spec, onNodeLoss: "replace" } : spec;
}

/** The fog spec of every VDU, from the configuration and each VDU's metadata (translate.ts). */
export function specsOf(
  name: string,
  configuration: Array<[string, string]>,
  vdus: Vdu[],
  idField: "id" | "parent_vdu",
  autoHeal: boolean,
): Array<{ label: string; images: string[]; spec: FogSpec }> {
  const labelled = vdus.map((vdu) => ({ vdu, label: vduLabel(vdu, idField) }));
  const specs = translateVnf({
    vnfdName: name,
    configuration,
    vdus: labelled.map(({ vdu, label }) => ({
      label,
      metadata: vdu.metadata,
      virtualLinks: [
        ...new Set(
          (vdu.vnfc ?? []).flatMap((c) => (c.connection_point ?? []).map((cp) => cp.virtual_link_reference)),
        ),
      ],
    })),
  });
  return labelled.map(({ vdu, label }) => ({
    label,
    images: vdu.vm_image ?? [],
    spec: withNodeLossPolicy(specs.get(label) as FogSpec, autoHeal),
  }));
}

/**
 * INSTANTIATE: the NFVO allocates (docs/openbaton-protocol.md §6). The VNFD is translated first (a bad key fails
 * before anything is granted or created), then GRANT_OPERATION, then ALLOCATE_RESOURCES with the fog spec in
 * `userdata`, so the NFVO calls the VIM driver's launchInstanceAndWait per VNFC and placement happens there.
 */
export async function instantiate(ctx: VnfmContext, message: InstantiateMessage): Promise<Json> {
  const nsrId = message.extension["nsr-id"];
  const vnfr = buildVnfr(message);
  let userdata: string;
  let spec: FogSpec | undefined;
  try {
    const vdus = specsOf(
      message.vnfd.name,
      configurationPairs(message.vnfd),
      message.vnfd.vdu,
      "id",
      ctx.autoHeal,
    );
    userdata = ctx.encodeUserdata({ vnfr, vdus });
    // The encoder refuses VDUs with different specs: the first is the spec of every VNFC.
    spec = vdus[0]?.spec;
  } catch (e) {
    return errorReply(`INSTANTIATE of ${message.vnfd.name} refused: ${errorMessage(e)}`, vnfr, nsrId);
  }

  const grantAnswer = await ctx.nfvo.call({ action: "GRANT_OPERATION", virtualNetworkFunctionRecord: vnfr });
  if (grantAnswer.action === "ERROR") {
    const err = parseWith(
      nfvoErrorReplySchema,
      grantAnswer,
      "NFVO answer to GRANT_OPERATION",
      "PROTOCOL_ERROR",
    );
    return errorReply(
      `GRANT_OPERATION for ${message.vnfd.name} refused by the NFVO: ${err.message ?? "no reason given"}`,
      (err.vnfr as Json | undefined) ?? vnfr,
      nsrId,
    );
  }
  const grant = parseWith(grantReplySchema, grantAnswer, "NFVO answer to GRANT_OPERATION", "PROTOCOL_ERROR");
  const granted = grant.virtualNetworkFunctionRecord as Json;
  if (grant.grantAllowed === false) {
    return errorReply(`GRANT_OPERATION for ${message.vnfd.name}: the NFVO did not allow it`, granted, nsrId);
  }

  const allocateAnswer = await ctx.nfvo.call({
    action: "ALLOCATE_RESOURCES",
    virtualNetworkFunctionRecord: granted,
    vimInstances: grant.vduVim ?? {},
    // Both must be present: the NFVO calls userdata.replace(...) and new HashSet<>(keyPairs).
    userdata,
    keyPairs: message.keys ?? [],
  });
  if (allocateAnswer.action === "ERROR") {
    const err = parseWith(
      nfvoErrorReplySchema,
      allocateAnswer,
      "NFVO answer to ALLOCATE_RESOURCES",
      "PROTOCOL_ERROR",
    );
    return errorReply(
      `ALLOCATE_RESOURCES for ${message.vnfd.name} failed: ${err.message ?? "no reason given"}`,
      (err.vnfr as Json | undefined) ?? granted,
      nsrId,
    );
  }
  const allocated = parseWith(
    allocateReplySchema,
    allocateAnswer,
    "NFVO answer to ALLOCATE_RESOURCES",
    "PROTOCOL_ERROR",
  ).vnfr as Json;
  const id = typeof allocated.id === "string" ? allocated.id : undefined;
  if (id !== undefined) {
    ctx.records.set(id, {
      name: message.vnfd.name,
      nsrId,
      env: {},
      applied: new Map(
        instancesOf(allocated).flatMap((i) => (vcIdOf(i) ? [[vcIdOf(i) as string, envKey({})]] : [])),
      ),
      started: false,
      vnfr: allocated,
      spec,
      vims: (grant.vduVim ?? {}) as Record<string, Json>,
    });
  }
  ctx.logger.info("VNF instantiated", {
    vnfr: allocated.name,
    vnfcs: instancesOf(allocated).map((i) => ({ vc_id: i.vc_id, hostname: i.hostname })),
  });
  return vnfrReply("INSTANTIATE", allocated);
}
