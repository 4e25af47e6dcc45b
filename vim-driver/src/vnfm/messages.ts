import { z } from "zod";
import { IotFogError, errorMessage, parseWith } from "@openiotfog/shared";
// VNFDConnectionPoint is the same object the driver receives in launchInstanceAndWait; Java maps are read alike.
import { connectionPointSchema, gsonStringMap as stringMap } from "../openbaton/catalogue";

/**
 * NFVO ⇄ VNFM messages (docs/openbaton-protocol.md §6): flat JSON objects whose `action` picks the class on
 * both sides. Catalogue objects (VNFD, VNFR, VDU, VNFC instance) are kept as the NFVO sent them
 * (`passthrough`), because every record we return is saved by the NFVO as is: a dropped field is lost data.
 */

/** Queues on `openbaton-exchange` that the NFVO consumes from VNFMs. */
export const NFVO_RPC_QUEUE = "vnfm.nfvo.actions.reply";
export const NFVO_ONE_WAY_QUEUE = "vnfm.nfvo.actions";

export type Json = Record<string, unknown>;

const obj = z.record(z.unknown());

export const configurationParameterSchema = z
  .object({
    confKey: z.string({ required_error: "is required", invalid_type_error: "must be a string" }),
    value: z.union([z.string(), z.number(), z.boolean()]).nullable().optional(),
  })
  .passthrough();

export const configurationSchema = z
  .object({
    name: z.string().nullable().optional(),
    configurationParameters: z.array(configurationParameterSchema).nullable().optional(),
  })
  .passthrough();
export type Configuration = z.infer<typeof configurationSchema>;

export const vnfcSchema = z
  .object({
    id: z.string().nullable().optional(),
    connection_point: z.array(connectionPointSchema).nullable().optional(),
  })
  .passthrough();

export const vduSchema = z
  .object({
    id: z.string().nullable().optional(),
    name: z.string().nullable().optional(),
    vm_image: z.array(z.string()).nullable().optional(),
    scale_in_out: z.number().int().nullable().optional(),
    vnfc: z.array(vnfcSchema).nullable().optional(),
    vnfc_instance: z.array(obj).nullable().optional(),
    vimInstanceName: z.array(z.string()).nullable().optional(),
    metadata: stringMap,
  })
  .passthrough();
export type Vdu = z.infer<typeof vduSchema>;

/** VNFD as the NFVO sends it in INSTANTIATE. */
export const vnfdSchema = z
  .object({
    id: z.string().nullable().optional(),
    name: z.string().min(1, "must not be empty"),
    type: z.string().nullable().optional(),
    endpoint: z.string().nullable().optional(),
    vendor: z.string().nullable().optional(),
    version: z.string().nullable().optional(),
    vdu: z.array(vduSchema).min(1, "needs at least one VDU"),
    configurations: configurationSchema.nullable().optional(),
    requires: z
      .record(z.object({ parameters: z.array(z.string()).nullable().optional() }).passthrough())
      .nullable()
      .optional(),
    provides: z.array(z.string()).nullable().optional(),
    virtual_link: z.array(obj).nullable().optional(),
    lifecycle_event: z.array(obj).nullable().optional(),
    monitoring_parameter: z.array(z.string()).nullable().optional(),
    auto_scale_policy: z.array(obj).nullable().optional(),
    connection_point: z.array(obj).nullable().optional(),
    cyclicDependency: z.boolean().nullable().optional(),
    vnfPackageLocation: z.string().nullable().optional(),
    deployment_flavour: z.array(obj).nullable().optional(),
  })
  .passthrough();
export type Vnfd = z.infer<typeof vnfdSchema>;

/** VNFR: everything we read is optional, the rest passes through untouched. */
export const vnfrSchema = z
  .object({
    id: z.string().nullable().optional(),
    name: z.string().nullable().optional(),
    type: z.string().nullable().optional(),
    parent_ns_id: z.string().nullable().optional(),
    status: z.string().nullable().optional(),
    vdu: z.array(vduSchema).nullable().optional(),
    configurations: configurationSchema.nullable().optional(),
  })
  .passthrough();
export type Vnfr = z.infer<typeof vnfrSchema>;

export const vnfcInstanceSchema = z
  .object({
    id: z.string().nullable().optional(),
    vc_id: z.string().nullable().optional(),
    vim_id: z.string().nullable().optional(),
    hostname: z.string().nullable().optional(),
    state: z.string().nullable().optional(),
  })
  .passthrough();
export type VnfcInstance = z.infer<typeof vnfcInstanceSchema>;

/** `DependencyParameters`: `{parameters: {key: value}}`. */
const dependencyParametersSchema = z.object({ parameters: stringMap }).passthrough();

/**
 * VNFRecordDependency: `parameters` is keyed by the source VNFR's type, `vnfcParameters` by the source type and
 * then by the source VNFC instance id.
 */
export const vnfRecordDependencySchema = z
  .object({
    target: z.string().nullable().optional(),
    parameters: z.record(dependencyParametersSchema).nullable().optional(),
    vnfcParameters: z
      .record(
        z.object({ parameters: z.record(dependencyParametersSchema).nullable().optional() }).passthrough(),
      )
      .nullable()
      .optional(),
    idType: stringMap,
  })
  .passthrough();
export type VnfRecordDependency = z.infer<typeof vnfRecordDependencySchema>;

export const instantiateMessageSchema = z
  .object({
    action: z.literal("INSTANTIATE"),
    vnfd: vnfdSchema,
    vnfdf: obj.nullable().optional(),
    vnfInstanceName: z.string().nullable().optional(),
    vlrs: z.array(obj).nullable().optional(),
    extension: stringMap,
    vimInstances: z.record(z.array(obj)).nullable().optional(),
    keys: z.array(obj).nullable().optional(),
    vnfPackage: obj.nullable().optional(),
    vnfr: obj.nullable().optional(),
  })
  .passthrough();
export type InstantiateMessage = z.infer<typeof instantiateMessageSchema>;

export const genericMessageSchema = z
  .object({
    action: z.string(),
    vnfr: vnfrSchema,
    vnfrd: vnfRecordDependencySchema.nullable().optional(),
  })
  .passthrough();
export type GenericMessage = z.infer<typeof genericMessageSchema>;

export const startStopMessageSchema = z
  .object({
    action: z.enum(["START", "STOP"]),
    virtualNetworkFunctionRecord: vnfrSchema,
    vnfcInstance: vnfcInstanceSchema.nullable().optional(),
    vnfrDependency: vnfRecordDependencySchema.nullable().optional(),
  })
  .passthrough();
export type StartStopMessage = z.infer<typeof startStopMessageSchema>;

export const scalingMessageSchema = z
  .object({
    action: z.enum(["SCALE_OUT", "SCALE_IN", "SCALING"]),
    virtualNetworkFunctionRecord: vnfrSchema,
    component: obj.nullable().optional(),
    vnfcInstance: vnfcInstanceSchema.nullable().optional(),
    vimInstance: obj.nullable().optional(),
    dependency: vnfRecordDependencySchema.nullable().optional(),
    mode: z.string().nullable().optional(),
    extension: stringMap,
  })
  .passthrough();
export type ScalingMessage = z.infer<typeof scalingMessageSchema>;

export const healMessageSchema = z
  .object({
    action: z.literal("HEAL"),
    virtualNetworkFunctionRecord: vnfrSchema,
    vnfcInstance: vnfcInstanceSchema.nullable().optional(),
    cause: z.string().nullable().optional(),
  })
  .passthrough();
export type HealMessage = z.infer<typeof healMessageSchema>;

/** OrVnfmErrorMessage: the NFVO sends it on its own and as the ERROR answer to an RPC. */
export const errorMessageSchema = z
  .object({
    action: z.literal("ERROR"),
    vnfr: vnfrSchema.nullable().optional(),
    message: z.string().nullable().optional(),
  })
  .passthrough();
export type NfvoErrorMessage = z.infer<typeof errorMessageSchema>;

/** The NFVO's answer to GRANT_OPERATION (OrVnfmGrantLifecycleOperationMessage). */
export const grantReplySchema = z
  .object({
    action: z.literal("GRANT_OPERATION"),
    grantAllowed: z.boolean().nullable().optional(),
    vduVim: z.record(obj).nullable().optional(),
    virtualNetworkFunctionRecord: vnfrSchema,
  })
  .passthrough();

/** The NFVO's answer to ALLOCATE_RESOURCES / SCALING (OrVnfmGenericMessage). */
export const allocateReplySchema = z
  .object({ action: z.string(), vnfr: vnfrSchema, vnfrd: obj.nullable().optional() })
  .passthrough();

/** The NFVO's ERROR answer to an RPC: the same OrVnfmErrorMessage. */
export const nfvoErrorReplySchema = errorMessageSchema;

/** Reads the action of an incoming body; BAD_REQUEST (naming the problem) for non-JSON or no action. */
export function decodeNfvMessage(body: Buffer | string): { action: string; message: Json } {
  const text = typeof body === "string" ? body : body.toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new IotFogError("BAD_REQUEST", `message is not JSON (${errorMessage(e)}): ${text.slice(0, 120)}`);
  }
  const head = parseWith(
    z.object({ action: z.string().min(1, "must not be empty") }).passthrough(),
    json,
    "NFVO message",
    "BAD_REQUEST",
  );
  return { action: head.action, message: head as Json };
}

/** The exception body the NFVO deserialises as a Java Throwable (go-openbaton `messages.VNFMError`). */
export function javaException(detailMessage: string): Json {
  const message = detailMessage.trim() === "" ? "VNFM error (no message)" : detailMessage;
  return {
    detailMessage: message,
    stackTrace: [],
    suppressedExceptions: [],
    cause: { detailMessage: message, stackTrace: [], suppressedExceptions: [] },
  };
}

/** VnfmOrErrorMessage: the VNFR is optional for the NFVO (it then marks the NSR), `nsrId` names the NSR. */
export function errorReply(detailMessage: string, vnfr: Json | undefined, nsrId: string | undefined): Json {
  const out: Json = { action: "ERROR", exception: javaException(detailMessage) };
  if (vnfr !== undefined) out.virtualNetworkFunctionRecord = vnfr;
  if (nsrId !== undefined && nsrId !== "") out.nsrId = nsrId;
  return out;
}

/** VnfmOrGenericMessage / VnfmOrInstantiateMessage: `{action, virtualNetworkFunctionRecord}`. */
export function vnfrReply(action: string, vnfr: Json, extra: Json = {}): Json {
  return { action, virtualNetworkFunctionRecord: vnfr, ...extra };
}
