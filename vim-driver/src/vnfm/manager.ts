import { errorMessage, parseWith, type Logger } from "@openiotfog/shared";
import { dependencyEnv, mergeEnv } from "./dependencies";
import {
  allocateReplySchema,
  decodeNfvMessage,
  errorMessageSchema,
  errorReply,
  genericMessageSchema,
  grantReplySchema,
  healMessageSchema,
  instantiateMessageSchema,
  nfvoErrorReplySchema,
  scalingMessageSchema,
  startStopMessageSchema,
  vnfrReply,
  type Json,
  type Vdu,
  type Vnfr,
  type VnfRecordDependency,
} from "./messages";
import type { FogFault, FogPort, NfvoPort, UserdataEncoder, VnfcHandle, VnfcStatus } from "./ports";
import { buildVnfr, configurationPairs } from "./records";
import type { StoredVnfr, VnfmStateStore } from "./store";
import { translateVnf, type FogSpec } from "./translate";

/**
 * The VNF manager's state machine (docs/openbaton-protocol.md §6): one method per NFVO action, each returning
 * the reply body the NFVO waits for. It never throws: every failure becomes an `ERROR` reply that says what went
 * wrong, because the NFVO waits for the reply without a timeout.
 *
 * The NFVO allocates (docs/openbaton-protocol.md §6). INSTANTIATE asks for GRANT_OPERATION, then ALLOCATE_RESOURCES with the
 * fog specs in `userdata`, so the NFVO calls the VIM driver's launchInstanceAndWait per VNFC and placement
 * happens there. MODIFY's dependency values become environment variables, applied when START arrives (the
 * container is re-created with them, on the same node), so the containers run with them before START is answered.
 */

/** What the manager remembers per VNF record between messages (the NFVO sends the full record each time). */
interface VnfrState {
  name: string;
  nsrId: string | undefined;
  /** Dependency env from MODIFY / START / SCALE_OUT, by source; applied to every VNFC of the record. */
  env: Record<string, string>;
  /** Env each VNFC's container runs with now (by vc_id). */
  applied: Map<string, string>;
  started: boolean;
  /** The last record we answered with, for asynchronous ERRORs (fog faults). */
  vnfr: Json;
  /** The userdata the VNFCs were launched with (one per record: ALLOCATE_RESOURCES carries one string). */
  userdata: string | undefined;
  /** VIM instance per VNFR VDU id (the grant's `vduVim`). */
  vims: Record<string, Json>;
}

export interface VnfManagerOptions {
  nfvo: NfvoPort;
  fog: FogPort;
  encodeUserdata: UserdataEncoder;
  logger: Logger;
  /** Where the per-record state survives a restart of the process; without one it lives in memory only. */
  store?: VnfmStateStore;
}

function toStored(id: string, s: VnfrState): StoredVnfr {
  return {
    id,
    name: s.name,
    ...(s.nsrId === undefined ? {} : { nsrId: s.nsrId }),
    env: s.env,
    applied: Object.fromEntries(s.applied),
    started: s.started,
    vnfr: s.vnfr,
    ...(s.userdata === undefined ? {} : { userdata: s.userdata }),
    vims: s.vims,
  };
}

function fromStored(r: StoredVnfr): VnfrState {
  return {
    name: r.name,
    nsrId: r.nsrId,
    env: r.env,
    applied: new Map(Object.entries(r.applied)),
    started: r.started,
    vnfr: r.vnfr,
    userdata: r.userdata,
    vims: r.vims as Record<string, Json>,
  };
}

function vduLabel(vdu: Vdu, idField: "id" | "parent_vdu"): string {
  const v = vdu as Vdu & Json;
  if (typeof vdu.name === "string" && vdu.name !== "") return vdu.name;
  const id = v[idField];
  return typeof id === "string" && id !== "" ? id : "vdu";
}

function envKey(env: Record<string, string>): string {
  return JSON.stringify(Object.entries(env).sort(([a], [b]) => a.localeCompare(b)));
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every VNFC instance object of a record (mutable views into the record). */
function instancesOf(vnfr: Json): Json[] {
  const out: Json[] = [];
  const vdus = Array.isArray(vnfr.vdu) ? (vnfr.vdu as unknown[]) : [];
  for (const vdu of vdus) {
    if (!isObject(vdu) || !Array.isArray(vdu.vnfc_instance)) continue;
    for (const instance of vdu.vnfc_instance as unknown[]) if (isObject(instance)) out.push(instance);
  }
  return out;
}

function vcIdOf(instance: Json): string | undefined {
  return typeof instance.vc_id === "string" && instance.vc_id !== "" && instance.vc_id !== "unknown"
    ? instance.vc_id
    : undefined;
}

class VnfmFailure extends Error {}

export class VnfManager {
  private readonly records = new Map<string, VnfrState>();
  private readonly nfvo: NfvoPort;
  private readonly fog: FogPort;
  private readonly encodeUserdata: UserdataEncoder;
  private readonly logger: Logger;
  private readonly store: VnfmStateStore | undefined;
  /** The state writes, one after the other (each a snapshot at the time it was asked for). */
  private saving: Promise<void> = Promise.resolve();

  constructor(options: VnfManagerOptions) {
    this.nfvo = options.nfvo;
    this.fog = options.fog;
    this.encodeUserdata = options.encodeUserdata;
    this.logger = options.logger;
    this.store = options.store;
    for (const r of this.store?.load() ?? []) this.records.set(r.id, fromStored(r));
  }

  /** The VNFCs (vc_ids) of every record this manager knows, e.g. to watch them again after a restart. */
  vnfcIds(): string[] {
    return [...this.records.values()].flatMap((s) => instancesOf(s.vnfr).flatMap((i) => vcIdOf(i) ?? []));
  }

  /**
   * Writes a snapshot of the records through the store, after the writes before it; resolves once written. A
   * failed write is logged, the answer to the NFVO still goes out.
   */
  private persist(): Promise<void> {
    const store = this.store;
    if (store === undefined) return Promise.resolve();
    const snapshot = [...this.records].map(([id, s]) => toStored(id, s));
    this.saving = this.saving
      .then(() => store.save(snapshot))
      .catch((e: unknown) => {
        this.logger.error("could not save the VNFM state", { error: errorMessage(e) });
      });
    return this.saving;
  }

  /**
   * Handles one message body from the NFVO and returns the reply body (`null` where Open Baton's SDKs answer
   * nothing meaningful: ERROR and SCALE_IN).
   */
  async handle(body: Buffer | string): Promise<Json | null> {
    let action = "(unreadable)";
    let message: Json = {};
    try {
      ({ action, message } = decodeNfvMessage(body));
    } catch (e) {
      this.logger.warn("unreadable message from the NFVO", { error: errorMessage(e) });
      return errorReply(`OpenIoTFog VNFM: ${errorMessage(e)}`, undefined, undefined);
    }
    const started = Date.now();
    try {
      const reply = await this.dispatch(action, message).finally(() => this.persist());
      this.logger.info("NFVO action handled", {
        action,
        ms: Date.now() - started,
        reply: reply?.action ?? null,
      });
      return reply;
    } catch (e) {
      const vnfr = this.recordIn(message);
      const nsrId = typeof vnfr?.parent_ns_id === "string" ? vnfr.parent_ns_id : undefined;
      this.logger.warn("NFVO action failed", { action, error: errorMessage(e) });
      return errorReply(`${action} failed: ${errorMessage(e)}`, vnfr, nsrId);
    }
  }

  /** The VNF record carried by a message, whatever its field name. */
  private recordIn(message: Json): Json | undefined {
    for (const key of ["virtualNetworkFunctionRecord", "vnfr"]) {
      const v = message[key];
      if (isObject(v)) return v;
    }
    return undefined;
  }

  private async dispatch(action: string, message: Json): Promise<Json | null> {
    switch (action) {
      case "INSTANTIATE":
        return this.instantiate(message);
      case "MODIFY":
        return this.modify(message);
      case "START":
        return this.start(message);
      case "STOP":
        return this.stop(message);
      case "RELEASE_RESOURCES":
        return this.release(message);
      case "SCALE_OUT":
        return this.scaleOut(message);
      case "SCALE_IN":
        return this.scaleIn(message);
      case "HEAL":
        return this.heal(message);
      case "ERROR":
        return this.nfvoError(message);
      case "CONFIGURE":
      case "UPDATE":
      case "RESUME": {
        // No scripts to run in containers: acknowledge with the record so the NFVO's task completes.
        const vnfr = parseWith(genericMessageSchema, message, `${action} message`, "BAD_REQUEST")
          .vnfr as Json;
        return vnfrReply(action, vnfr);
      }
      default:
        throw new VnfmFailure(`unsupported action "${action}"`);
    }
  }

  // ---------------------------------------------------------------------------------------------- INSTANTIATE

  private specsOf(
    name: string,
    configuration: Array<[string, string]>,
    vdus: Vdu[],
    idField: "id" | "parent_vdu",
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
            (vdu.vnfc ?? []).flatMap((c) =>
              (c.connection_point ?? []).map((cp) => cp.virtual_link_reference),
            ),
          ),
        ],
      })),
    });
    return labelled.map(({ vdu, label }) => ({
      label,
      images: vdu.vm_image ?? [],
      spec: specs.get(label) as FogSpec,
    }));
  }

  private async instantiate(raw: Json): Promise<Json> {
    const message = parseWith(instantiateMessageSchema, raw, "INSTANTIATE message", "BAD_REQUEST");
    const nsrId = message.extension["nsr-id"];
    const vnfr = buildVnfr(message);
    // Translate first: a bad key must fail before anything is granted or created.
    let userdata: string;
    try {
      const vdus = this.specsOf(message.vnfd.name, configurationPairs(message.vnfd), message.vnfd.vdu, "id");
      userdata = this.encodeUserdata({ vnfr, vdus });
    } catch (e) {
      return errorReply(`INSTANTIATE of ${message.vnfd.name} refused: ${errorMessage(e)}`, vnfr, nsrId);
    }

    const grantAnswer = await this.nfvo.call({
      action: "GRANT_OPERATION",
      virtualNetworkFunctionRecord: vnfr,
    });
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
    const grant = parseWith(
      grantReplySchema,
      grantAnswer,
      "NFVO answer to GRANT_OPERATION",
      "PROTOCOL_ERROR",
    );
    const granted = grant.virtualNetworkFunctionRecord as Json;
    if (grant.grantAllowed === false) {
      return errorReply(
        `GRANT_OPERATION for ${message.vnfd.name}: the NFVO did not allow it`,
        granted,
        nsrId,
      );
    }

    const allocateAnswer = await this.nfvo.call({
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
      this.records.set(id, {
        name: message.vnfd.name,
        nsrId,
        env: {},
        applied: new Map(
          instancesOf(allocated).flatMap((i) => (vcIdOf(i) ? [[vcIdOf(i) as string, envKey({})]] : [])),
        ),
        started: false,
        vnfr: allocated,
        userdata,
        vims: (grant.vduVim ?? {}) as Record<string, Json>,
      });
    }
    this.logger.info("VNF instantiated", {
      vnfr: allocated.name,
      vnfcs: instancesOf(allocated).map((i) => ({ vc_id: i.vc_id, hostname: i.hostname })),
    });
    return vnfrReply("INSTANTIATE", allocated);
  }

  private stateFor(vnfr: Vnfr & Json): VnfrState {
    const id = typeof vnfr.id === "string" ? vnfr.id : "";
    let state = this.records.get(id);
    if (state === undefined) {
      // A record from before a restart of this process: start from what the NFVO tells us.
      state = {
        name: vnfr.name ?? id,
        nsrId: vnfr.parent_ns_id ?? undefined,
        env: {},
        applied: new Map(),
        started: false,
        vnfr,
        userdata: undefined,
        vims: {},
      };
      if (id !== "") this.records.set(id, state);
    }
    state.vnfr = vnfr;
    return state;
  }

  // ---------------------------------------------------------------------------------------------- MODIFY

  private addDependency(state: VnfrState, dependency: VnfRecordDependency | null | undefined): void {
    const env = dependencyEnv(dependency);
    if (Object.keys(env).length > 0) {
      state.env = mergeEnv(state.env, env);
      this.logger.info("dependency values received", { vnfr: state.name, variables: Object.keys(env) });
    }
  }

  private async modify(raw: Json): Promise<Json> {
    const message = parseWith(genericMessageSchema, raw, "MODIFY message", "BAD_REQUEST");
    const vnfr = message.vnfr as Json;
    const state = this.stateFor(message.vnfr as Vnfr & Json);
    this.addDependency(state, message.vnfrd);
    // Normally START follows and applies the values; a MODIFY after START (re-configuration) applies them now.
    if (state.started) await this.applyEnvToAll(state, vnfr, undefined);
    return vnfrReply("MODIFY", vnfr);
  }

  /** What the fog needs to re-create one VNFC of a record. */
  private handleFor(state: VnfrState, vnfr: Json, instance: Json, vcId: string): VnfcHandle {
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
      userdata: state.userdata ?? "",
      ...(vim === undefined ? {} : { vim }),
    };
  }

  /**
   * Makes every VNFC of the record (or the one named by `only`) run with the record's dependency env, re-creating
   * those whose container does not have it yet, and records the (possibly new) vc_id and state in the record.
   */
  private async applyEnvToAll(state: VnfrState, vnfr: Json, only: string | undefined): Promise<VnfcStatus[]> {
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
        status = await this.fog.applyEnv(this.handleFor(state, vnfr, instance, vcId), state.env);
        this.logger.info("dependency values applied", {
          vnfr: state.name,
          vnfc: instance.hostname,
          vc_id: status.vcId,
          node: status.nodeId,
          variables: Object.keys(state.env),
        });
      } else {
        status = await this.fog.start(vcId);
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

  // ---------------------------------------------------------------------------------------------- START / STOP

  private async start(raw: Json): Promise<Json> {
    const message = parseWith(startStopMessageSchema, raw, "START message", "BAD_REQUEST");
    const vnfr = message.virtualNetworkFunctionRecord as Json;
    const state = this.stateFor(message.virtualNetworkFunctionRecord as Vnfr & Json);
    this.addDependency(state, message.vnfrDependency);
    const only = message.vnfcInstance?.id ?? message.vnfcInstance?.vc_id ?? undefined;
    const results = await this.applyEnvToAll(state, vnfr, only ?? undefined);
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

  private async stop(raw: Json): Promise<Json> {
    const message = parseWith(startStopMessageSchema, raw, "STOP message", "BAD_REQUEST");
    const vnfr = message.virtualNetworkFunctionRecord as Json;
    const state = this.stateFor(message.virtualNetworkFunctionRecord as Vnfr & Json);
    const only = message.vnfcInstance?.id ?? message.vnfcInstance?.vc_id ?? undefined;
    for (const instance of instancesOf(vnfr)) {
      const vcId = vcIdOf(instance);
      if (vcId === undefined) continue;
      if (only !== undefined && only !== null && instance.id !== only && vcId !== only) continue;
      const status = await this.fog.stop(vcId);
      instance.state = status.state;
    }
    if (only === undefined || only === null) state.started = false;
    const reply: Json = message.vnfcInstance ? { vnfcInstance: message.vnfcInstance } : {};
    return vnfrReply("STOP", vnfr, reply);
  }

  // ---------------------------------------------------------------------------------------------- RELEASE

  private async release(raw: Json): Promise<Json> {
    const message = parseWith(genericMessageSchema, raw, "RELEASE_RESOURCES message", "BAD_REQUEST");
    const vnfr = message.vnfr as Json;
    // The NFVO calls deleteServerByIdAndWait for each VNFC after this reply, and never sees its errors; removing
    // here as well (idempotent) makes sure nothing is left running even if one of those calls goes wrong.
    const problems: string[] = [];
    for (const instance of instancesOf(vnfr)) {
      const vcId = vcIdOf(instance);
      if (vcId === undefined) continue;
      try {
        await this.fog.remove(vcId);
      } catch (e) {
        problems.push(`${vcId}: ${errorMessage(e)}`);
      }
    }
    if (problems.length > 0)
      this.logger.warn("release left work to the driver", { vnfr: vnfr.name, problems });
    if (typeof vnfr.id === "string") this.records.delete(vnfr.id);
    return vnfrReply("RELEASE_RESOURCES", vnfr);
  }

  // ---------------------------------------------------------------------------------------------- SCALE

  private async scaleOut(raw: Json): Promise<Json> {
    const message = parseWith(scalingMessageSchema, raw, "SCALE_OUT message", "BAD_REQUEST");
    const vnfr = message.virtualNetworkFunctionRecord as Json;
    const state = this.stateFor(message.virtualNetworkFunctionRecord as Vnfr & Json);
    this.addDependency(state, message.dependency);
    const before = new Set(instancesOf(vnfr).map((i) => vcIdOf(i)));
    const vdus = this.specsOf(
      state.name,
      configurationPairs(message.virtualNetworkFunctionRecord),
      message.virtualNetworkFunctionRecord.vdu ?? [],
      "parent_vdu",
    );
    state.userdata ??= this.encodeUserdata({ vnfr, vdus });
    // Known dependency values go into the new container's spec directly: no re-creation needed.
    const withEnv = vdus.map((v) => ({ ...v, spec: { ...v.spec, env: { ...v.spec.env, ...state.env } } }));
    const userdata = this.encodeUserdata({ vnfr, vdus: withEnv });
    const answer = await this.nfvo.call({
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
      const status = await this.fog.start(vcId);
      added.state = message.mode?.toUpperCase() === "STANDBY" ? "STANDBY" : status.state;
    }
    state.vnfr = scaled;
    return vnfrReply("SCALED", scaled, { vnfcInstance: added });
  }

  private async scaleIn(raw: Json): Promise<null> {
    const message = parseWith(scalingMessageSchema, raw, "SCALE_IN message", "BAD_REQUEST");
    const vcId = message.vnfcInstance?.vc_id;
    // The NFVO releases the VNFC through the driver itself; removing here too keeps the node clean if that fails.
    if (typeof vcId === "string" && vcId !== "") await this.fog.remove(vcId);
    return null;
  }

  // ---------------------------------------------------------------------------------------------- HEAL / ERROR

  private async heal(raw: Json): Promise<Json> {
    const message = parseWith(healMessageSchema, raw, "HEAL message", "BAD_REQUEST");
    const vnfr = message.virtualNetworkFunctionRecord as Json;
    const state = this.stateFor(message.virtualNetworkFunctionRecord as Vnfr & Json);
    const target = message.vnfcInstance;
    const healed: VnfcStatus[] = [];
    for (const instance of instancesOf(vnfr)) {
      const vcId = vcIdOf(instance);
      if (vcId === undefined) continue;
      if (target && instance.id !== target.id && vcId !== target.vc_id) continue;
      const status = await this.fog.heal(this.handleFor(state, vnfr, instance, vcId), state.env);
      if (status.vcId !== vcId) instance.vc_id = status.vcId;
      instance.state = status.state;
      healed.push(status);
      this.logger.info("VNFC healed", {
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

  private nfvoError(raw: Json): null {
    const message = parseWith(errorMessageSchema, raw, "ERROR message", "BAD_REQUEST");
    this.logger.warn("the NFVO reports an error", { vnfr: message.vnfr?.name, message: message.message });
    return null;
  }

  // ---------------------------------------------------------------------------------------------- fog events

  /**
   * A node running VNFCs was lost, or a device a VNFC needs was detached: tell the NFVO with an asynchronous
   * ERROR (the NFVO marks the VNF record and its NSR ERROR and records the message in the lifecycle history).
   */
  async reportFault(fault: FogFault): Promise<void> {
    for (const state of this.records.values()) {
      const hit = instancesOf(state.vnfr).filter((i) => {
        const vcId = vcIdOf(i);
        return vcId !== undefined && fault.vcIds.includes(vcId);
      });
      if (hit.length === 0) continue;
      for (const i of hit) i.state = "ERROR";
      const what =
        fault.kind === "node-lost"
          ? "fog node lost"
          : fault.kind === "device-removed"
            ? "device detached"
            : "container failed";
      const text = `${what} under ${state.name}: ${fault.detail} (VNFCs ${hit.map((i) => String(i.hostname ?? i.vc_id)).join(", ")} on ${fault.nodeId})`;
      this.logger.warn("reporting a fog fault to the NFVO", {
        vnfr: state.name,
        kind: fault.kind,
        node: fault.nodeId,
      });
      try {
        await this.nfvo.notify(errorReply(text, state.vnfr, state.nsrId));
      } catch (e) {
        this.logger.error("could not report a fog fault to the NFVO", { error: errorMessage(e) });
      }
    }
    await this.persist();
  }
}
