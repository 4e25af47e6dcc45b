import { errorMessage, parseWith } from "@openiotfog/shared";
import { allocateReplySchema, type Json } from "./messages";
import type { VnfcMove, VnfcPlacement } from "./ports";
import { instancesOf, isObject, vcIdOf } from "./records";
import type { VnfrState } from "./repository";
import type { VnfmContext } from "./handlers/context";

/**
 * `vnfm.autoHeal` (docs/self-healing.md#open-baton): the fleet's reconciler placed a VNFC of a lost node again by
 * itself, and the NFVO is told with UPDATEVNFR, the VNFM's record update (an RPC on `vnfm.nfvo.actions.reply`,
 * answered by the NFVO's UpdatevnfrTask, docs/openbaton-protocol.md §6).
 *
 * UpdatevnfrTask merges the VNFM's record into its own by ids: of a VNFC instance it already knows (same `id`) it
 * takes only `hostname`, `vim_id`, `vc_id`, `vnfComponent` and the connection points, never `ips`,
 * `floatingIps` or `state`; an instance without `id` is saved as a new one, whole, and an instance the VNFM's
 * record leaves out is dropped. So the moved VNFC goes out as a new instance (no ids in it or in its IPs and
 * connection points, its `vnfComponent` kept as the reference it is) in place of the old one: the NFVO then
 * holds the new vc_id, hostname, IPs and state, under a new instance id that its answer carries back.
 */

/** Copies a catalogue object without its database identity, as the NFVO creates new entities. */
function fresh(o: Json): Json {
  const { id: _id, hbVersion: _hb, ...rest } = o;
  return rest;
}

/** The VNFC instance that replaces `old` after the move: new placement, no identity of its own yet. */
export function movedInstance(old: Json, to: VnfcPlacement): Json {
  // The links the VNFC had, at the new node's address when the driver's Server does not list one.
  const links = new Set([...addressesOf(old, "netName"), ...Object.keys(to.ips)]);
  const ips = [...links].map((netName) => ({ netName, ip: to.ips[netName]?.[0] ?? to.address }));
  const floatingIps = Object.entries(to.floatingIps).map(([netName, ip]) => ({ netName, ip }));
  const points = Array.isArray(old.connection_point) ? (old.connection_point as unknown[]) : [];
  const { id: _id, hbVersion: _hb, ...rest } = old;
  return {
    ...rest,
    vc_id: to.vcId,
    // The NFVO's name for the VNFC (`<vnfr>-<n>`): the moved container keeps it, other VNFs know it by it.
    hostname: typeof old.hostname === "string" ? old.hostname : to.hostname,
    state: to.state,
    ips,
    floatingIps,
    connection_point: points.filter(isObject).map(fresh),
  };
}

/**
 * The record after the move: the new instance in place of the old one in its VDU, the record's addresses with
 * the old instance's replaced by the new one's, and ACTIVE when every VNFC of a started record runs again.
 */
export function recordAfterMove(vnfr: Json, old: Json, moved: Json, started: boolean): Json {
  const record = structuredClone(vnfr);
  const vdus = Array.isArray(record.vdu) ? (record.vdu as unknown[]).filter(isObject) : [];
  for (const vdu of vdus) {
    if (!Array.isArray(vdu.vnfc_instance)) continue;
    vdu.vnfc_instance = (vdu.vnfc_instance as unknown[]).map((i) =>
      isObject(i) && vcIdOf(i) === vcIdOf(old) ? moved : i,
    );
  }
  const oldIps = new Set(addressesOf(old));
  const kept = Array.isArray(record.vnf_address)
    ? (record.vnf_address as unknown[]).filter((a): a is string => typeof a === "string" && !oldIps.has(a))
    : [];
  record.vnf_address = [...new Set([...kept, ...addressesOf(moved)])];
  if (started && instancesOf(record).every((i) => i.state === "ACTIVE")) record.status = "ACTIVE";
  return record;
}

/** The `ip` (or `netName`) of every Ip of a VNFC instance. */
function addressesOf(instance: Json, field: "ip" | "netName" = "ip"): string[] {
  const ips = Array.isArray(instance.ips) ? (instance.ips as unknown[]).filter(isObject) : [];
  return ips.flatMap((ip) => {
    const v = ip[field];
    return typeof v === "string" ? [v] : [];
  });
}

/**
 * Tells the NFVO that the fleet moved a VNFC of one of the records: UPDATEVNFR with the record as it is now, then
 * the NFVO's saved record (with the new instance's id) is the one kept. An NFVO that answers anything else
 * (`null`: UpdatevnfrTask failed and the NFVO sent an ERROR of its own) leaves our record updated and is logged.
 */
export async function reportMove(ctx: VnfmContext, move: VnfcMove): Promise<void> {
  for (const state of ctx.records.all()) {
    const old = instancesOf(state.vnfr).find((i) => vcIdOf(i) === move.from);
    if (old === undefined) continue;
    await updateRecord(ctx, state, old, move);
  }
}

async function updateRecord(ctx: VnfmContext, state: VnfrState, old: Json, move: VnfcMove): Promise<void> {
  const moved = movedInstance(old, move.to);
  state.vnfr = recordAfterMove(state.vnfr, old, moved, state.started);
  const applied = state.applied.get(move.from);
  state.applied.delete(move.from);
  if (applied !== undefined) state.applied.set(move.to.vcId, applied);
  ctx.logger.info("VNFC placed again by the fleet; telling the NFVO (UPDATEVNFR)", {
    vnfr: state.name,
    hostname: move.to.hostname,
    from: move.from,
    to: move.to.vcId,
  });
  try {
    const answer: unknown = await ctx.nfvo.call({
      action: "UPDATEVNFR",
      virtualNetworkFunctionRecord: state.vnfr,
    });
    if (isObject(answer) && answer.action === "UPDATEVNFR") {
      state.vnfr = parseWith(allocateReplySchema, answer, "NFVO answer to UPDATEVNFR", "PROTOCOL_ERROR")
        .vnfr as Json;
    } else {
      ctx.logger.error("the NFVO did not take the record update", {
        vnfr: state.name,
        answer: isObject(answer) ? answer.action : answer,
      });
    }
  } catch (e) {
    ctx.logger.error("could not send the record update to the NFVO", {
      vnfr: state.name,
      error: errorMessage(e),
    });
  }
  await ctx.records.persist();
}
