import { parseWith } from "@openiotfog/shared";
import {
  allocateReplySchema,
  errorReply,
  nfvoErrorReplySchema,
  vnfrReply,
  type HealMessage,
  type Json,
  type NfvoErrorMessage,
  type ScalingMessage,
  type Vnfr,
} from "../messages";
import type { VnfcStatus } from "../ports";
import { configurationPairs, instancesOf, vcIdOf } from "../records";
import { VnfmFailure, envKey, type VnfmContext } from "./context";
import { specsOf } from "./instantiate";
import { addDependency, handleFor } from "./lifecycle";

/** SCALE_OUT: the NFVO launches the new VNFC (SCALING) with the known dependency values already in its spec. */
export async function scaleOut(ctx: VnfmContext, message: ScalingMessage): Promise<Json> {
  const vnfr = message.virtualNetworkFunctionRecord as Json;
  const state = ctx.records.stateFor(message.virtualNetworkFunctionRecord as Vnfr & Json);
  addDependency(ctx, state, message.dependency);
  const before = new Set(instancesOf(vnfr).map((i) => vcIdOf(i)));
  const vdus = specsOf(
    state.name,
    configurationPairs(message.virtualNetworkFunctionRecord),
    message.virtualNetworkFunctionRecord.vdu ?? [],
    "parent_vdu",
    ctx.autoHeal,
  );
  if (state.spec === undefined) {
    // A record whose spec was not kept: the encoder checks the VDUs agree, as at INSTANTIATE.
    ctx.encodeUserdata({ vnfr, vdus });
    state.spec = vdus[0]?.spec;
  }
  // Known dependency values go into the new container's spec directly: no re-creation needed.
  const withEnv = vdus.map((v) => ({ ...v, spec: { ...v.spec, env: { ...v.spec.env, ...state.env } } }));
  const userdata = ctx.encodeUserdata({ vnfr, vdus: withEnv });
  const answer = await ctx.nfvo.call({
    action: "SCALING",
    virtualNetworkFunctionRecord: vnfr,
    userData: userdata,
    ...(message.vimInstance ? { vimInstance: message.vimInstance } : {}),
  });
  if (answer.action === "ERROR") {
    const err = parseWith(nfvoErrorReplySchema, answer, "NFVO answer to SCALING", "PROTOCOL_ERROR");
    return errorReply(
      `SCALE_OUT of ${state.name} failed: ${err.message ?? "no reason given"}`,
      (err.vnfr as Json | undefined) ?? vnfr,
      state.nsrId,
    );
  }
  const scaled = parseWith(allocateReplySchema, answer, "NFVO answer to SCALING", "PROTOCOL_ERROR")
    .vnfr as Json;
  const added = instancesOf(scaled).find((i) => !before.has(vcIdOf(i)));
  if (added === undefined)
    throw new VnfmFailure(`the NFVO answered SCALING for ${state.name} without a new VNFC`);
  const vcId = vcIdOf(added);
  if (vcId !== undefined) {
    state.applied.set(vcId, envKey(state.env));
    const status = await ctx.fog.start(vcId);
    added.state = message.mode?.toUpperCase() === "STANDBY" ? "STANDBY" : status.state;
  }
  state.vnfr = scaled;
  return vnfrReply("SCALED", scaled, { vnfcInstance: added });
}

/** SCALE_IN: the NFVO releases the VNFC through the driver itself; removing here too keeps the node clean. */
export async function scaleIn(ctx: VnfmContext, message: ScalingMessage): Promise<null> {
  const vcId = message.vnfcInstance?.vc_id;
  if (typeof vcId === "string" && vcId !== "") await ctx.fog.remove(vcId);
  return null;
}

/** HEAL: each targeted VNFC is started again where it is, or placed again (same spec and env) elsewhere. */
export async function heal(ctx: VnfmContext, message: HealMessage): Promise<Json> {
  const vnfr = message.virtualNetworkFunctionRecord as Json;
  const state = ctx.records.stateFor(message.virtualNetworkFunctionRecord as Vnfr & Json);
  const target = message.vnfcInstance;
  const healed: VnfcStatus[] = [];
  for (const instance of instancesOf(vnfr)) {
    const vcId = vcIdOf(instance);
    if (vcId === undefined) continue;
    if (target && instance.id !== target.id && vcId !== target.vc_id) continue;
    const status = await ctx.fog.heal(handleFor(state, vnfr, instance, vcId), state.env);
    if (status.vcId !== vcId) instance.vc_id = status.vcId;
    instance.state = status.state;
    healed.push(status);
    ctx.logger.info("VNFC healed", {
      vnfr: state.name,
      cause: message.cause,
      vc_id: status.vcId,
      node: status.nodeId,
    });
  }
  const instance = target ? (instancesOf(vnfr).find((i) => i.id === target.id) ?? target) : undefined;
  return vnfrReply(
    "HEAL",
    vnfr,
    instance ? { vnfcInstance: instance, cause: message.cause ?? "" } : { cause: message.cause ?? "" },
  );
}

/** The NFVO's own ERROR: logged; Open Baton's SDKs answer nothing. */
export async function nfvoError(ctx: VnfmContext, message: NfvoErrorMessage): Promise<null> {
  ctx.logger.warn("the NFVO reports an error", { vnfr: message.vnfr?.name, message: message.message });
  return null;
}
