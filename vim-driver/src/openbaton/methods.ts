import { z, type ZodType, type ZodTypeDef } from "zod";
import { IotFogError, parseWith } from "@openiotfog/shared";
import {
  connectionPointSchema,
  flavourParamSchema,
  gsonStringMap,
  imageParamSchema,
  keySchema,
  networkParamSchema,
  subnetParamSchema,
  vimInstanceSchema,
  type ConnectionPoint,
  type DeploymentFlavour,
  type DockerImage,
  type DockerNetwork,
  type NetworkParam,
  type Quota,
  type Server,
  type VimInstance,
} from "./catalogue";
import { parseFogSpec, type FogSpec } from "./fog-spec";
import { decodeBase64Param, isStrictBase64, type PluginRequest } from "./protocol";

/** What launchInstance / launchInstanceAndWait carry, parameters already validated. */
export interface LaunchRequest {
  hostname: string;
  /** Image extId (or a tag: the NFVO sends the extId of the image it matched by tag). */
  image: string;
  flavor: string;
  keyPair: string;
  networks: ConnectionPoint[];
  securityGroups: string[];
  /** The fog spec the userdata carried (decoded here, at the NFVO boundary); undefined when it had none. */
  fog: FogSpec | undefined;
  floatingIps: Record<string, string>;
  keys: Array<{ name?: string | null; publicKey?: string | null }>;
  /** false for launchInstance: answer once the container exists, without waiting for it to run. */
  wait: boolean;
}

type Obj = Record<string, unknown>;

/** The VIM operations behind the 29 methods. Implemented by VimService over the fleet. */
export interface VimOperations {
  refresh(vim: VimInstance): Promise<Obj>;
  listImages(vim: VimInstance): Promise<DockerImage[]>;
  listNetworks(vim: VimInstance): Promise<DockerNetwork[]>;
  listFlavors(vim: VimInstance): Promise<DeploymentFlavour[]>;
  listServer(vim: VimInstance): Promise<Server[]>;
  getQuota(vim: VimInstance): Promise<Quota>;
  getType(vim: VimInstance): Promise<string>;
  launch(vim: VimInstance, req: LaunchRequest): Promise<Server>;
  deleteServer(vim: VimInstance, extId: string): Promise<boolean>;
  rebuildServer(vim: VimInstance, serverId: string, imageId: string): Promise<Server>;
  createNetwork(vim: VimInstance, network: NetworkParam): Promise<DockerNetwork>;
  updateNetwork(vim: VimInstance, network: NetworkParam): Promise<DockerNetwork>;
  deleteNetwork(vim: VimInstance, extId: string): Promise<boolean>;
  getNetworkById(vim: VimInstance, id: string): Promise<DockerNetwork>;
  getSubnetsExtIds(vim: VimInstance, networkExtId: string): Promise<string[]>;
  createSubnet(vim: VimInstance, network: Obj, subnet: Obj): Promise<Obj>;
  updateSubnet(vim: VimInstance, network: Obj, subnet: Obj): Promise<Obj>;
  deleteSubnet(vim: VimInstance, subnetExtId: string): Promise<boolean>;
  addImageFromUrl(vim: VimInstance, image: Obj, url: string, token?: string): Promise<Obj>;
  addImageFromBytes(vim: VimInstance, image: Obj, tarball: Buffer): Promise<Obj>;
  copyImage(vim: VimInstance, image: Obj, tarball: Buffer): Promise<Obj>;
  updateImage(vim: VimInstance, image: Obj): Promise<Obj>;
  deleteImage(vim: VimInstance, image: Obj): Promise<boolean>;
  addFlavor(vim: VimInstance, flavour: Obj): Promise<DeploymentFlavour>;
  updateFlavor(vim: VimInstance, flavour: Obj): Promise<DeploymentFlavour>;
  deleteFlavor(vim: VimInstance, extId: string): Promise<boolean>;
}

/** One overload: a method name plus its parameter count, as the NFVO tells them apart. */
export interface MethodSpec {
  name: string;
  params: readonly string[];
  /** deleteServerByIdAndWait: the NFVO does not wait, so it must never hold a request worker. */
  background?: boolean;
  run(ops: VimOperations, args: unknown[]): Promise<unknown>;
}

function arg<T>(
  schema: ZodType<T, ZodTypeDef, unknown>,
  method: string,
  names: readonly string[],
  args: unknown[],
  i: number,
): T {
  return parseWith(schema, args[i], `${method}: parameter ${i + 1} (${names[i] ?? "?"})`, "BAD_REQUEST");
}

const str = z.string({ invalid_type_error: "must be a string", required_error: "is required" });
/** Strings the NFVO may send as null (Gson writes a null list element as null). */
const optStr = z
  .string({ invalid_type_error: "must be a string" })
  .nullable()
  .optional()
  .transform((s) => s ?? "");
const obj = z.record(z.unknown(), { invalid_type_error: "must be an object" });
const cpList = z
  .array(connectionPointSchema, { invalid_type_error: "must be a list of connection points" })
  .nullable()
  .optional()
  .transform((l) => l ?? []);
const strList = z
  .array(z.string())
  .nullable()
  .optional()
  .transform((l) => l ?? []);
const floatingMap = gsonStringMap;
const keyList = z
  .array(keySchema)
  .nullable()
  .optional()
  .transform((l) => l ?? []);

function spec(
  name: string,
  params: readonly string[],
  run: (
    ops: VimOperations,
    vim: VimInstance,
    a: <T>(s: ZodType<T, ZodTypeDef, unknown>, i: number) => T,
  ) => Promise<unknown>,
  background = false,
): MethodSpec {
  return {
    name,
    params,
    background,
    run: (ops, args) => {
      const a = <T>(s: ZodType<T, ZodTypeDef, unknown>, i: number): T => arg(s, name, params, args, i);
      return run(ops, a(vimInstanceSchema, 0), a);
    },
  };
}

function launchSpec(name: string, params: readonly string[], wait: boolean): MethodSpec {
  return spec(name, params, (ops, vim, a) =>
    ops.launch(vim, {
      hostname: a(str.min(1, "must not be empty"), 1),
      image: a(str.min(1, "must not be empty"), 2),
      flavor: a(optStr, 3),
      keyPair: a(optStr, 4),
      networks: a(cpList, 5),
      securityGroups: a(strList, 6),
      fog: parseFogSpec(a(optStr, 7)),
      floatingIps: params.length > 8 ? a(floatingMap, 8) : {},
      keys: params.length > 9 ? a(keyList, 9) : [],
      wait,
    }),
  );
}

const LAUNCH_8 = ["vim", "hostname", "image", "flavor", "keyPair", "networks", "securityGroups", "userdata"];
const LAUNCH_10 = [...LAUNCH_8, "floatingIps", "keys"];

/**
 * The 29 methods of ClientInterfaces (docs/openbaton-protocol.md §4), keyed by name and parameter count.
 * addImage with 3 parameters is two overloads (byte[] or URL) that only the last value tells apart.
 */
export const METHODS: readonly MethodSpec[] = [
  spec("refresh", ["vim"], (ops, vim) => ops.refresh(vim)),
  launchSpec("launchInstanceAndWait", LAUNCH_10, true),
  launchSpec("launchInstanceAndWait", LAUNCH_8, true),
  launchSpec("launchInstance", LAUNCH_8, false),
  spec("deleteServerByIdAndWait", ["vim", "id"], (ops, vim, a) => ops.deleteServer(vim, a(str, 1)), true),
  spec("listServer", ["vim"], (ops, vim) => ops.listServer(vim)),
  spec("getQuota", ["vim"], (ops, vim) => ops.getQuota(vim)),
  spec("createNetwork", ["vim", "network"], (ops, vim, a) =>
    ops.createNetwork(vim, a(networkParamSchema, 1)),
  ),
  spec("deleteNetwork", ["vim", "extId"], (ops, vim, a) => ops.deleteNetwork(vim, a(str, 1))),
  spec("getNetworkById", ["vim", "id"], (ops, vim, a) => ops.getNetworkById(vim, a(str, 1))),
  spec("listNetworks", ["vim"], (ops, vim) => ops.listNetworks(vim)),
  spec("listImages", ["vim"], (ops, vim) => ops.listImages(vim)),
  spec("listFlavors", ["vim"], (ops, vim) => ops.listFlavors(vim)),
  spec("addImage", ["vim", "image", "image_url"], (ops, vim, a) =>
    ops.addImageFromUrl(vim, a(imageParamSchema, 1), a(str, 2)),
  ),
  spec("addImage", ["vim", "image", "imageFile"], (ops, vim, a) =>
    ops.addImageFromBytes(vim, a(imageParamSchema, 1), decodeBase64Param(a(str, 2), "addImage: imageFile")),
  ),
  spec("addImage", ["vim", "image", "image_url", "imageRepoToken"], (ops, vim, a) =>
    ops.addImageFromUrl(vim, a(imageParamSchema, 1), a(str, 2), a(optStr, 3)),
  ),
  spec("updateImage", ["vim", "image"], (ops, vim, a) => ops.updateImage(vim, a(imageParamSchema, 1))),
  spec("copyImage", ["vim", "image", "imageFile"], (ops, vim, a) =>
    ops.copyImage(vim, a(imageParamSchema, 1), decodeBase64Param(a(str, 2), "copyImage: imageFile")),
  ),
  spec("deleteImage", ["vim", "image"], (ops, vim, a) => ops.deleteImage(vim, a(imageParamSchema, 1))),
  spec("addFlavor", ["vim", "flavor"], (ops, vim, a) => ops.addFlavor(vim, a(flavourParamSchema, 1))),
  spec("updateFlavor", ["vim", "flavor"], (ops, vim, a) => ops.updateFlavor(vim, a(flavourParamSchema, 1))),
  spec("deleteFlavor", ["vim", "extId"], (ops, vim, a) => ops.deleteFlavor(vim, a(str, 1))),
  spec("createSubnet", ["vim", "createdNetwork", "subnet"], (ops, vim, a) =>
    ops.createSubnet(vim, a(obj, 1), a(subnetParamSchema, 2)),
  ),
  spec("updateNetwork", ["vim", "network"], (ops, vim, a) =>
    ops.updateNetwork(vim, a(networkParamSchema, 1)),
  ),
  spec("updateSubnet", ["vim", "updatedNetwork", "subnet"], (ops, vim, a) =>
    ops.updateSubnet(vim, a(obj, 1), a(subnetParamSchema, 2)),
  ),
  spec("getSubnetsExtIds", ["vim", "network_extId"], (ops, vim, a) => ops.getSubnetsExtIds(vim, a(str, 1))),
  spec("deleteSubnet", ["vim", "existingSubnetExtId"], (ops, vim, a) => ops.deleteSubnet(vim, a(str, 1))),
  spec("rebuildServer", ["vim", "serverId", "imageId"], (ops, vim, a) =>
    ops.rebuildServer(vim, a(str, 1), a(str, 2)),
  ),
  spec("getType", ["vim"], (ops, vim) => ops.getType(vim)),
];

const BY_NAME = new Map<string, MethodSpec[]>();
for (const m of METHODS) BY_NAME.set(m.name, [...(BY_NAME.get(m.name) ?? []), m]);

function signature(m: MethodSpec): string {
  return `${m.name}(${m.params.join(", ")})`;
}

/**
 * Chooses the overload for a request. Unknown names and wrong parameter counts throw BAD_REQUEST naming the
 * method and what it accepts, so the NFVO operator sees what is out of sync.
 */
export function resolveMethod(request: PluginRequest): MethodSpec {
  const candidates = BY_NAME.get(request.methodName);
  if (candidates === undefined) {
    throw new IotFogError(
      "BAD_REQUEST",
      `protocol error, NFVO and plugin are out of sync: unknown method "${request.methodName}"`,
    );
  }
  const count = request.parameters.length;
  const byArity = candidates.filter((m) => m.params.length === count);
  if (byArity.length === 0) {
    const accepted = candidates.map(signature).join(" or ");
    throw new IotFogError(
      "BAD_REQUEST",
      `method "${request.methodName}" got ${count} parameter(s); it takes ${accepted}`,
    );
  }
  if (byArity.length === 1) return byArity[0] as MethodSpec;
  // addImage(vim, image, x): byte[] arrives as Base64, a URL never is (it has "://").
  const last = request.parameters[count - 1];
  const bytes = typeof last === "string" && isStrictBase64(last);
  const chosen = byArity.find((m) => (m.params[count - 1] === "imageFile") === bytes);
  return chosen ?? (byArity[0] as MethodSpec);
}

/** Number of distinct (name, parameter count) overloads: 29 with the two 3-parameter addImage variants. */
export const METHOD_COUNT = METHODS.length;
