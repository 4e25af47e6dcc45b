import { z, type ZodType, type ZodTypeDef } from "zod";

/**
 * How the NFVO's Gson writes and reads plugin messages (docs/openbaton-protocol.md §3, §4): pretty-printed, HTML
 * characters escaped as \uXXXX, null fields omitted, and answers parsed into Java types whose mismatches throw.
 */
export function gsonToJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v === null ? undefined : v), 2).replace(
    /[<>&=']/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** JsonSyntaxException / IllegalStateException analogues, so tests can tell parser failures apart. */
export class GsonError extends Error {
  constructor(
    readonly javaClass: string,
    message: string,
  ) {
    super(`${javaClass}: ${message}`);
    this.name = "GsonError";
  }
}

// Java fields: a String accepts any primitive (Gson coerces numbers/booleans); Integer/int only whole numbers.
const jString = z.union([z.string(), z.number().transform(String), z.boolean().transform(String)]);
const jInt = z.number().int();
const jBool = z.boolean();
const opt = <T extends ZodType>(t: T) => t.nullable().optional();
const stringMap = z.record(jString.nullable());

const baseEntity = {
  id: opt(jString),
  hbVersion: opt(jInt),
  projectId: opt(jString),
  shared: opt(jBool),
  metadata: opt(stringMap),
};

export const dockerImageType = z.object({ ...baseEntity, extId: opt(jString), tags: opt(z.array(jString)) });
export const nfvImageType = z.object({
  ...baseEntity,
  extId: opt(jString),
  name: opt(jString),
  minRam: opt(jInt),
  minDiskSpace: opt(jInt),
  status: opt(jString),
});
export const dockerNetworkType = z.object({
  ...baseEntity,
  name: opt(jString),
  extId: opt(jString),
  scope: opt(jString),
  driver: opt(jString),
  gateway: opt(jString),
  subnet: opt(jString),
});
export const deploymentFlavourType = z.object({
  ...baseEntity,
  flavour_key: opt(jString),
  extId: opt(jString),
  ram: opt(jInt),
  disk: opt(jInt),
  vcpus: opt(jInt),
});
export const quotaType = z.object({
  id: opt(jString),
  version: opt(jInt),
  tenant: opt(jString),
  cores: jInt,
  floatingIps: jInt,
  instances: jInt,
  keyPairs: jInt,
  ram: jInt,
});
export const serverType = z.object({
  name: opt(jString),
  image: opt(nfvImageType),
  flavor: opt(deploymentFlavourType),
  status: opt(jString),
  extendedStatus: opt(jString),
  extId: opt(jString),
  ips: opt(z.record(z.array(jString).nullable())),
  floatingIps: opt(stringMap),
  created: opt(jString),
  updated: opt(jString),
  hostName: opt(jString),
  hypervisorHostName: opt(jString),
  instanceName: opt(jString),
});
export const subnetType = z.object({
  ...baseEntity,
  name: opt(jString),
  extId: opt(jString),
  networkId: opt(jString),
  cidr: opt(jString),
  gatewayIp: opt(jString),
});

/** NfvoGsonDeserializerImage: key sniffing, no type discriminator. */
function imageByKeys(raw: unknown): unknown {
  if (raw !== null && typeof raw === "object" && "tags" in raw)
    return strictParse(dockerImageType, raw, "DockerImage");
  return strictParse(nfvImageType, raw, "NFVImage");
}

/** NfvoGsonDeserializerNetwork: `subnet` → DockerNetwork, `subnets` → Network, else BaseNetwork. */
export function networkKind(raw: unknown): "DockerNetwork" | "Network" | "BaseNetwork" {
  if (raw !== null && typeof raw === "object") {
    if ("subnet" in raw) return "DockerNetwork";
    if ("subnets" in raw) return "Network";
  }
  return "BaseNetwork";
}

export const dockerVimType = z
  .object({
    ...baseEntity,
    name: opt(jString),
    authUrl: opt(jString),
    type: jString,
    active: opt(jBool),
    location: opt(z.record(z.unknown())),
    images: opt(z.array(z.unknown())),
    networks: opt(z.array(z.unknown())),
  })
  .passthrough();

function strictParse<T>(schema: ZodType<T, ZodTypeDef, unknown>, raw: unknown, javaType: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new GsonError(
      "com.google.gson.JsonSyntaxException",
      `cannot read ${javaType}: ${issue ? `${issue.path.join(".")}: ${issue.message}` : "bad value"}`,
    );
  }
  return r.data;
}

/** Java return types of VimDriverCaller (docs/openbaton-protocol.md §4). */
export type JavaType =
  | "BaseVimInstance"
  | "Server"
  | "List<Server>"
  | "Quota"
  | "BaseNetwork"
  | "List<DockerNetwork>"
  | "List<DockerImage>"
  | "List<DeploymentFlavour>"
  | "NFVImage"
  | "DeploymentFlavour"
  | "Subnet"
  | "Boolean"
  | "String"
  | "List<String>";

/** `gson.fromJson(answer, returnType)` as far as the NFVO depends on it. */
export function fromJson(answer: unknown, type: JavaType): unknown {
  switch (type) {
    case "BaseVimInstance": {
      // NfvoGsonDeserializerVimInstance: `type` is required (NullPointerException without it).
      if (answer === null || typeof answer !== "object" || !("type" in answer)) {
        throw new GsonError("java.lang.NullPointerException", "VIM instance without type");
      }
      const vim = strictParse(dockerVimType, answer, "DockerVimInstance");
      return {
        ...vim,
        images: vim.images?.map(imageByKeys),
        networks: vim.networks?.map((n) => strictParse(dockerNetworkType, n, "DockerNetwork")),
      };
    }
    case "Server":
      return strictParse(serverType, answer, "Server");
    case "List<Server>":
      return strictParse(z.array(serverType), answer, "List<Server>");
    case "Quota":
      return strictParse(quotaType, answer, "Quota");
    case "BaseNetwork":
      return { kind: networkKind(answer), network: strictParse(dockerNetworkType, answer, "BaseNetwork") };
    case "List<DockerNetwork>":
      return strictParse(z.array(dockerNetworkType), answer, "List<DockerNetwork>");
    case "List<DockerImage>":
      return strictParse(z.array(z.unknown()), answer, "List<DockerImage>").map(imageByKeys);
    case "List<DeploymentFlavour>":
      return strictParse(z.array(deploymentFlavourType), answer, "List<DeploymentFlavour>");
    case "NFVImage":
      return strictParse(nfvImageType, answer, "NFVImage");
    case "DeploymentFlavour":
      return strictParse(deploymentFlavourType, answer, "DeploymentFlavour");
    case "Subnet":
      return strictParse(subnetType, answer, "Subnet");
    case "Boolean":
      return strictParse(jBool, answer, "Boolean");
    case "String":
      return strictParse(jString, answer, "String");
    case "List<String>":
      return strictParse(z.array(jString), answer, "List<String>");
  }
}

/**
 * VnfmOrErrorMessage as NfvoGsonDeserializerNFVMessage reads it (openbaton-protocol.md §5.4): `exception` is a Java
 * Throwable (detailMessage, stackTrace, suppressedExceptions, cause), `nsrId` and the VNF record are optional.
 */
const javaThrowable: z.ZodType<unknown> = z.lazy(() =>
  z.object({
    detailMessage: opt(jString),
    stackTrace: opt(z.array(z.unknown())),
    suppressedExceptions: opt(z.array(z.unknown())),
    cause: opt(javaThrowable),
  }),
);
export const vnfmOrErrorMessageType = z.object({
  action: z.literal("ERROR"),
  nsrId: opt(jString),
  virtualNetworkFunctionRecord: opt(z.record(z.unknown())),
  exception: z.object({
    detailMessage: jString,
    stackTrace: z.array(z.unknown()),
    suppressedExceptions: z.array(z.unknown()),
    cause: opt(javaThrowable),
  }),
});

/** Reads a VNFM's answer as a VnfmOrErrorMessage; a GsonError when it is not one. */
export function readVnfmError(answer: unknown): z.infer<typeof vnfmOrErrorMessageType> {
  return strictParse(vnfmOrErrorMessageType, answer, "VnfmOrErrorMessage");
}
