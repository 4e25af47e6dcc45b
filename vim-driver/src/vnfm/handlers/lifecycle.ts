import { errorMessage } from "@openiotfog/shared";
import { dependencyEnv, mergeEnv } from "../dependencies";
import {
  vnfrReply,
  type GenericMessage,
  type Json,
  type StartStopMessage,
  type VnfRecordDependency,
  type Vnfr,
} from "../messages";
import type { VnfcHandle, VnfcStatus } from "../ports";
import { instancesOf, isObject, vcIdOf } from "../records";
import type { VnfrState } from "../repository";
import { VnfmFailure, envKey, type VnfmContext } from "./context";

/**
 * MODIFY, START, STOP, RELEASE_RESOURCES and the acknowledged actions. MODIFY's dependency values become
 * environment variables, applied when START arrives (the container is re-created with them, on the same node),
 * so the containers run with them before START is answered.
 */

export function addDependency(
  ctx: VnfmContext,
  state: VnfrState,
  dependency: VnfRecordDependency | null | undefined,
): void {
  const env = dependencyEnv(dependency);
  if (Object.keys(env).length > 0) {
    state.env = mergeEnv(state.env, env);
    ctx.logger.info("dependency values received", { vnfr: state.name, variables: Object.keys(env) });
  }
}

/** What the fog needs to re-create one VNFC of a record: its spec, links, images and VIM, in memory. */
export function handleFor(state: VnfrState, vnfr: Json, instance: Json, vcId: string): VnfcHandle {
  const vdus = Array.isArray(vnfr.vdu) ? (vnfr.vdu as unknown[]).filter(isObject) : [];
  const vdu = vdus.find(
    (v) => Array.isArray(v.vnfc_instance) && (v.vnfc_instance as unknown[]).includes(instance),
  );
  const images =
    vdu && Array.isArray(vdu.vm_image)
      ? (vdu.vm_image as unknown[]).filter((i): i is string => typeof i === "string")
      : [];
  const vim = vdu && typeof vdu.id === "string" ? state.vims[vdu.id] : undefined;
  const networks = Array.isArray(instance.connection_point)
    ? (instance.connection_point as unknown[]).filter(isObject)
    : [];
  return {
    vcId,
    hostname: typeof instance.hostname === "string" ? instance.hostname : vcId,
    images,
    networks,
    spec: state.spec,
    ...(vim === undefined ? {} : { vim }),
  };
}

/**
 * Makes every VNFC of the record (or the one named by `only`) run with the record's dependency env, re-creating
 * those whose container does not have it yet, and records the (possibly new) vc_id and state in the record.
 */
async function applyEnvToAll(
  ctx: VnfmContext,
  state: VnfrState,
  vnfr: Json,
  only: string | undefined,
): Promise<VnfcStatus[]> {
  const results: VnfcStatus[] = [];
  const wanted = envKey(state.env);
  const hasEnv = Object.keys(state.env).length > 0;
  for (const instance of instancesOf(vnfr)) {
    const vcId = vcIdOf(instance);
    if (vcId === undefined)
      throw new VnfmFailure(`VNFC ${String(instance.hostname ?? instance.id)} has no vc_id`);
    if (only !== undefined && instance.id !== only && vcId !== only) continue;
    let status: VnfcStatus;
    if (hasEnv && state.applied.get(vcId) !== wanted) {
      status = await ctx.fog.applyEnv(handleFor(state, vnfr, instance, vcId), state.env);
      ctx.logger.info("dependency values applied", {
        vnfr: state.name,
        vnfc: instance.hostname,
        vc_id: status.vcId,
        node: status.nodeId,
        variables: Object.keys(state.env),
      });
    } else {
      status = await ctx.fog.start(vcId);
    }
    if (status.vcId !== vcId) {
      state.applied.delete(vcId);
      instance.vc_id = status.vcId;
    }
    state.applied.set(status.vcId, wanted);
    instance.state = status.state;
    results.push(status);
  }
  return results;
}

export async function modify(ctx: VnfmContext, message: GenericMessage): Promise<Json> {
  const vnfr = message.vnfr as Json;
  const state = ctx.records.stateFor(message.vnfr as Vnfr & Json);
  addDependency(ctx, state, message.vnfrd);
  // Normally START follows and applies the values; a MODIFY after START (re-configuration) applies them now.
  if (state.started) await applyEnvToAll(ctx, state, vnfr, undefined);
  return vnfrReply("MODIFY", vnfr);
}

export async function start(ctx: VnfmContext, message: StartStopMessage): Promise<Json> {
  const vnfr = message.virtualNetworkFunctionRecord as Json;
  const state = ctx.records.stateFor(message.virtualNetworkFunctionRecord as Vnfr & Json);
  addDependency(ctx, state, message.vnfrDependency);
  const only = message.vnfcInstance?.id ?? message.vnfcInstance?.vc_id ?? undefined;
  const results = await applyEnvToAll(ctx, state, vnfr, only ?? undefined);
  const notRunning = results.filter((r) => r.state !== "ACTIVE");
  if (notRunning.length > 0) {
    throw new VnfmFailure(
      `containers of ${state.name} do not run: ${notRunning
        .map(
          (r) =>
            `${r.vcId}${r.nodeId ? ` on ${r.nodeId}` : ""} is ${r.state}${r.detail ? ` (${r.detail})` : ""}`,
        )
        .join("; ")}`,
    );
  }
  state.started = true;
  state.vnfr = vnfr;
  const reply: Json = { vnfcInstance: message.vnfcInstance ?? undefined };
  if (reply.vnfcInstance === undefined) delete reply.vnfcInstance;
  return vnfrReply("START", vnfr, reply);
}

export async function stop(ctx: VnfmContext, message: StartStopMessage): Promise<Json> {
  const vnfr = message.virtualNetworkFunctionRecord as Json;
  const state = ctx.records.stateFor(message.virtualNetworkFunctionRecord as Vnfr & Json);
  const only = message.vnfcInstance?.id ?? message.vnfcInstance?.vc_id ?? undefined;
  for (const instance of instancesOf(vnfr)) {
    const vcId = vcIdOf(instance);
    if (vcId === undefined) continue;
    if (only !== undefined && only !== null && instance.id !== only && vcId !== only) continue;
    const status = await ctx.fog.stop(vcId);
    instance.state = status.state;
  }
  if (only === undefined || only === null) state.started = false;
  const reply: Json = message.vnfcInstance ? { vnfcInstance: message.vnfcInstance } : {};
  return vnfrReply("STOP", vnfr, reply);
}

export async function release(ctx: VnfmContext, message: GenericMessage): Promise<Json> {
  const vnfr = message.vnfr as Json;
  // The NFVO calls deleteServerByIdAndWait for each VNFC after this reply, and never sees its errors; removing
  // here as well (idempotent) makes sure nothing is left running even if one of those calls goes wrong.
  const problems: string[] = [];
  for (const instance of instancesOf(vnfr)) {
    const vcId = vcIdOf(instance);
    if (vcId === undefined) continue;
    try {
      await ctx.fog.remove(vcId);
    } catch (e) {
      problems.push(`${vcId}: ${errorMessage(e)}`);
    }
  }
  if (problems.length > 0) ctx.logger.warn("release left work to the driver", { vnfr: vnfr.name, problems });
  if (typeof vnfr.id === "string") ctx.records.delete(vnfr.id);
  return vnfrReply("RELEASE_RESOURCES", vnfr);
}

/** CONFIGURE, UPDATE, RESUME: no scripts to run in containers; the record goes back so the NFVO's task completes. */
export async function acknowledge(action: string, message: GenericMessage): Promise<Json> {
  return vnfrReply(action, message.vnfr as Json);
}
