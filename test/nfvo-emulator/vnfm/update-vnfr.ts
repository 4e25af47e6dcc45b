import { randomUUID } from "node:crypto";
import { z } from "zod";
import { GsonError } from "../gson";

/**
 * The NFVO's UPDATEVNFR, as NFVO 6.x does it (docs/openbaton-protocol.md §6): the VNFM's message is read by
 * NfvoGsonDeserializerNFVMessage's default branch as a VnfmOrGenericMessage (`virtualNetworkFunctionRecord`), and
 * UpdatevnfrTask merges that record into the stored one by ids, then saves it (JPA: entities without id are new
 * and get one, `@PrePersist`; collection elements left out are removed, `orphanRemoval`). Written from
 * `vnfm/vnfm-impl/.../tasks/UpdatevnfrTask.java`, with its quirks kept: the `found` flags are never reset inside
 * their loops, so an element with an unknown id after a matched one is dropped; a VNFC instance already known
 * keeps its `ips`, `floatingIps` and `state` (only hostname, vim_id, vc_id, vnfComponent and connection points
 * are taken); missing collections or configurations throw the NullPointerException the Java code would.
 */

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** What Gson must be able to read, or it throws before any task runs (the NFVO then answers nothing). */
const ipType = z.object({ netName: z.string().nullish(), ip: z.string().nullish() }).passthrough();
const cpType = z
  .object({ id: z.string().nullish(), virtual_link_reference: z.string().nullish() })
  .passthrough();
const instanceType = z
  .object({
    id: z.string().nullish(),
    vc_id: z.string().nullish(),
    hostname: z.string().nullish(),
    state: z.string().nullish(),
    ips: z.array(ipType).nullish(),
    floatingIps: z.array(ipType).nullish(),
    connection_point: z.array(cpType).nullish(),
  })
  .passthrough();
const vduType = z
  .object({
    id: z.string().nullish(),
    vnfc: z.array(z.object({ id: z.string().nullish() }).passthrough()).nullish(),
    vnfc_instance: z.array(instanceType).nullish(),
  })
  .passthrough();
export const vnfmOrGenericMessageType = z
  .object({
    action: z.literal("UPDATEVNFR"),
    virtualNetworkFunctionRecord: z
      .object({ id: z.string().nullish(), vdu: z.array(vduType).nullish() })
      .passthrough()
      .nullish(),
  })
  .passthrough();

/** Gson's reading of the message: a type mismatch is a JsonSyntaxException (no task runs, no answer). */
export function readUpdateVnfr(body: unknown): Json | undefined {
  const parsed = vnfmOrGenericMessageType.safeParse(body);
  if (!parsed.success) throw new GsonError("com.google.gson.JsonSyntaxException", parsed.error.message);
  const vnfr = parsed.data.virtualNetworkFunctionRecord;
  return vnfr === null || vnfr === undefined ? undefined : (structuredClone(vnfr) as Json);
}

function npe(what: string): never {
  throw new Error(`java.lang.NullPointerException: ${what}`);
}

function setOf(v: unknown, what: string): Json[] {
  if (!Array.isArray(v)) npe(what);
  return v.filter(isObject);
}

/** JPA's save: every entity without an id gets one (and hbVersion 0), also inside new collections. */
function persistNew(o: unknown): unknown {
  if (Array.isArray(o)) return o.map(persistNew);
  if (!isObject(o)) return o;
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) out[k] = k === "metadata" ? v : persistNew(v);
  if (out.id === undefined || out.id === null) {
    out.id = randomUUID();
    out.hbVersion = 0;
  }
  return out;
}

/**
 * The generic shape of UpdatevnfrTask's merges: manager elements without id are new, those matching a stored
 * one by id update it with `update`, the rest are new only until the first match (the never-reset `found`).
 */
function mergeById(stored: Json[], manager: Json[], update: (nfvo: Json, mgr: Json) => void): Json[] {
  const out: Json[] = [];
  let found = false;
  for (const m of manager) {
    if (m.id === undefined || m.id === null) {
      out.push(m);
      continue;
    }
    for (const n of stored) {
      if (n.id === m.id) {
        found = true;
        update(n, m);
        out.push(n);
        break;
      }
    }
    if (!found) out.push(m);
  }
  return out;
}

function updateConnectionPoints(stored: unknown, manager: unknown): Json[] {
  return mergeById(
    setOf(stored, "getConnection_point()"),
    setOf(manager, "getConnection_point()"),
    (n, m) => {
      // Java setters: a field Gson left out (null) is null afterwards, and Gson omits it again.
      for (const key of ["virtual_link_reference", "type"]) {
        if (m[key] === undefined || m[key] === null) delete n[key];
        else n[key] = m[key];
      }
    },
  );
}

function updateConfiguration(stored: unknown, manager: unknown): Json {
  if (!isObject(stored)) npe("configuration_nfvo.setName");
  if (!isObject(manager)) npe("configuration_manager.getName()");
  stored.name = manager.name;
  stored.configurationParameters = mergeById(
    setOf(stored.configurationParameters, "getConfigurationParameters()"),
    setOf(manager.configurationParameters, "getConfigurationParameters()"),
    (n, m) => {
      n.confKey = m.confKey;
      n.value = m.value;
    },
  );
  return stored;
}

const TOP_LEVEL = [
  "status",
  "name",
  "deployment_flavour_key",
  "task",
  "type",
  "audit_log",
  "localization",
  "monitoring_parameter",
  "notification",
  "vnf_address",
  "runtime_policy_info",
] as const;

/** UpdatevnfrTask.doWork on a copy of the stored record; returns the saved record. */
export function updateVnfr(storedRecord: Json, managerRecord: Json): Json {
  const nfvo = structuredClone(storedRecord);
  const mgr = managerRecord;
  for (const key of TOP_LEVEL) {
    if (mgr[key] === undefined || mgr[key] === null) delete nfvo[key];
    else nfvo[key] = mgr[key];
  }
  nfvo.provides = updateConfiguration(nfvo.provides, mgr.provides);
  nfvo.requires = updateConfiguration(nfvo.requires, mgr.requires);
  nfvo.configurations = updateConfiguration(nfvo.configurations, mgr.configurations);
  const vdus: Json[] = [];
  let found = false;
  for (const vduMgr of setOf(mgr.vdu, "getVdu()")) {
    if (vduMgr.id === undefined || vduMgr.id === null) {
      vdus.push(vduMgr);
      continue;
    }
    for (const vduNfvo of setOf(nfvo.vdu, "getVdu()")) {
      if (vduNfvo.id !== vduMgr.id) continue;
      found = true;
      for (const key of [
        "computation_requirement",
        "high_availability",
        "scale_in_out",
        "vdu_constraint",
        "virtual_memory_resource_element",
        "virtual_network_bandwidth_resource",
        "vm_image",
      ])
        vduNfvo[key] = vduMgr[key];
      vduNfvo.vnfc = mergeById(setOf(vduNfvo.vnfc, "getVnfc()"), setOf(vduMgr.vnfc, "getVnfc()"), (n, m) => {
        n.connection_point = updateConnectionPoints(n.connection_point, m.connection_point);
      });
      vduNfvo.vnfc_instance = mergeById(
        setOf(vduNfvo.vnfc_instance, "getVnfc_instance()"),
        setOf(vduMgr.vnfc_instance, "getVnfc_instance()"),
        (n, m) => {
          n.hostname = m.hostname;
          n.vim_id = m.vim_id;
          n.vc_id = m.vc_id;
          n.vnfComponent = m.vnfComponent;
          n.connection_point = updateConnectionPoints(n.connection_point, m.connection_point);
        },
      );
      vdus.push(vduNfvo);
      break;
    }
    if (!found) vdus.push(vduMgr);
  }
  nfvo.vdu = vdus;
  return persistNew(nfvo) as Json;
}
