import type { InstantiateMessage, Json, Vdu, Vnfd, Vnfr } from "./messages";

/**
 * Building and reading VNF records the way the NFVO expects them (docs/openbaton-protocol.md §6, rules of
 * go-openbaton `catalogue.NewVNFR` and the Java SDK's `VNFRUtils.createVirtualNetworkFunctionRecord`).
 * New objects carry no `id`: the NFVO assigns ids when it saves the record during GRANT_OPERATION.
 */

function list<T>(v: readonly T[] | null | undefined): T[] {
  return v === null || v === undefined ? [] : [...v];
}

/** Copies a catalogue object without its database identity (`id`, `hbVersion`/`hb_version`). */
function withoutIdentity(o: Json): Json {
  const { id: _id, hbVersion: _hb, hb_version: _hb2, ...rest } = o;
  return rest;
}

function vduFromDescriptor(vdu: Vdu, vimNames: string[]): Json {
  const rest = withoutIdentity(vdu as Json);
  delete rest.vnfc_instance;
  return {
    ...rest,
    parent_vdu: vdu.id ?? undefined,
    vimInstanceName: vimNames.length > 0 ? vimNames : list(vdu.vimInstanceName),
    vm_image: list(vdu.vm_image),
    vnfc: list(vdu.vnfc).map((component) => ({
      connection_point: list(component.connection_point).map((cp) => withoutIdentity(cp as Json)),
    })),
    vnfc_instance: [],
  };
}

/** The VNF record for GRANT_OPERATION, from an INSTANTIATE message. */
export function buildVnfr(message: InstantiateMessage): Json {
  const vnfd: Vnfd = message.vnfd;
  const vimInstances = message.vimInstances ?? {};
  const extension = message.extension;
  const flavourKey =
    message.vnfdf !== null && message.vnfdf !== undefined && typeof message.vnfdf.flavour_key === "string"
      ? message.vnfdf.flavour_key
      : "";
  const vlrs = list(message.vlrs);
  const name = vnfd.name;
  const configParams = list(vnfd.configurations?.configurationParameters).map((p) => ({
    confKey: p.confKey,
    value: p.value === null || p.value === undefined ? undefined : String(p.value),
  }));
  const requiresParams: Json[] = [];
  for (const dep of Object.values(vnfd.requires ?? {})) {
    for (const key of list(dep.parameters)) requiresParams.push({ confKey: key });
  }
  const record: Json = {
    name,
    type: vnfd.type ?? undefined,
    endpoint: vnfd.endpoint ?? vnfd.type ?? undefined,
    vendor: vnfd.vendor ?? undefined,
    version: vnfd.version ?? undefined,
    descriptor_reference: vnfd.id ?? undefined,
    parent_ns_id: extension["nsr-id"],
    deployment_flavour_key: flavourKey,
    packageId: vnfd.vnfPackageLocation ?? undefined,
    cyclicDependency: vnfd.cyclicDependency ?? false,
    configurations: {
      name: vnfd.configurations?.name ?? name,
      configurationParameters: configParams,
    },
    requires: { name: "requires", configurationParameters: requiresParams },
    provides: {
      name: "provides",
      configurationParameters: list(vnfd.provides).map((key) => ({ confKey: key })),
    },
    lifecycle_event: list(vnfd.lifecycle_event).map(withoutIdentity),
    lifecycle_event_history: [],
    monitoring_parameter: list(vnfd.monitoring_parameter),
    auto_scale_policy: list(vnfd.auto_scale_policy).map(withoutIdentity),
    connection_point: list(vnfd.connection_point).map(withoutIdentity),
    virtual_link: list(vnfd.virtual_link).map((vl) => {
      const copy = withoutIdentity(vl);
      const vlr = vlrs.find((r) => r.name === vl.name);
      if (vlr !== undefined && typeof vlr.extId === "string") copy.extId = vlr.extId;
      return copy;
    }),
    vdu: vnfd.vdu.map((vdu) => {
      const vims = vimInstances[vdu.id ?? ""] ?? vimInstances[vdu.name ?? ""] ?? [];
      const names = vims.map((v) => v.name).filter((n): n is string => typeof n === "string");
      return vduFromDescriptor(vdu, names);
    }),
    vnf_address: [],
    status: "NULL",
  };
  // Gson omits nulls; so do we, keeping the record what the NFVO itself would write.
  for (const [k, v] of Object.entries(record)) if (v === undefined) delete record[k];
  return record;
}

/** Configuration parameters of a record or descriptor as `[key, value]` pairs, in order. */
export function configurationPairs(source: {
  configurations?: Vnfr["configurations"];
}): Array<[string, string]> {
  const params = source.configurations?.configurationParameters ?? [];
  return params.map((p) => [p.confKey, p.value === null || p.value === undefined ? "" : String(p.value)]);
}

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every VNFC instance object of a record (mutable views into the record). */
export function instancesOf(vnfr: Json): Json[] {
  const out: Json[] = [];
  const vdus = Array.isArray(vnfr.vdu) ? (vnfr.vdu as unknown[]) : [];
  for (const vdu of vdus) {
    if (!isObject(vdu) || !Array.isArray(vdu.vnfc_instance)) continue;
    for (const instance of vdu.vnfc_instance as unknown[]) if (isObject(instance)) out.push(instance);
  }
  return out;
}

/** The VNFC's container id (the driver's Server.extId), unless the NFVO has none for it yet. */
export function vcIdOf(instance: Json): string | undefined {
  return typeof instance.vc_id === "string" && instance.vc_id !== "" && instance.vc_id !== "unknown"
    ? instance.vc_id
    : undefined;
}

/** The VNF record carried by a message, whatever its field name. */
export function recordIn(message: Json): Json | undefined {
  for (const key of ["virtualNetworkFunctionRecord", "vnfr"]) {
    const v = message[key];
    if (isObject(v)) return v;
  }
  return undefined;
}
