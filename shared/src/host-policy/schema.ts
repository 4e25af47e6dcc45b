import { posix } from "node:path";
import { z } from "zod";

/**
 * The host-safety policy of an edge agent: what a container may touch on the node beyond its own filesystem and
 * the bridge networks. Least privilege by default (every list empty, every switch off); the operator widens it
 * per node in the agent configuration (`hostPolicy`), and the agent advertises it in its capabilities so
 * placement never chooses a node that would refuse. Reference: docs/security.md, "Host-safety policy".
 *
 * This file depends on zod only: the capability model imports it.
 */

/**
 * `/a/b/../c/` → `/a/c`. The `..` tricks are resolved here, lexically; symlinks on the host are the host's
 * business (an operator allowing `/srv/x` vouches for what is under it).
 */
export function normaliseHostPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** Is `path` (normalised) the allowed root itself or inside it? `/srv/line2x` is not inside `/srv/line2`. */
export function isUnderHostPath(path: string, root: string): boolean {
  return root === "/" || path === root || path.startsWith(`${root}/`);
}

/** Characters that would change the meaning of a Docker bind (`src:dst:opts`) or of a log line. */
const BIND_UNSAFE = /[:,\p{Cc}]/u;

const allowedHostPath = z
  .string({ invalid_type_error: "must be a string" })
  .regex(/^\//, "must be an absolute host path")
  .max(4096, "must be at most 4096 characters")
  .refine((p) => !BIND_UNSAFE.test(p), "must not contain ':', ',' or control characters")
  .transform(normaliseHostPath);

/** A Docker network name (what `networks.create` accepts). */
const networkName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "must be a Docker network name");

const LIST_MAX = 64;

/**
 * Names (Docker's and compose's) of fields that would grant a container host privileges. A ServiceSpec has none
 * of them by design; when one arrives anyway, the strict schema refuses it and the message says why.
 */
export const PRIVILEGE_FIELD_NAMES: ReadonlySet<string> = new Set(
  [
    "privileged",
    "capAdd",
    "cap_add",
    "capabilities",
    "securityOpt",
    "security_opt",
    "pid",
    "pidMode",
    "ipc",
    "ipcMode",
    "uts",
    "userns",
    "usernsMode",
    "userns_mode",
    "sysctls",
    "cgroupParent",
    "cgroup_parent",
    "cgroup",
    "hostConfig",
    "volumesFrom",
    "volumes_from",
    "networkMode",
    "network_mode",
    "runtime",
  ].map((k) => k.toLowerCase()),
);

export const hostPolicySchema = z
  .object({
    /**
     * Host directories (or files) containers may bind-mount, each with everything under it. Default: none, so
     * only named volumes. `/` would allow every path: possible, but it has to be written.
     */
    allowBindMounts: z
      .array(allowedHostPath)
      .max(LIST_MAX, `must list at most ${LIST_MAX} paths`)
      .default([]),
    /**
     * Device paths a container may be given although the agent's own discovery did not find them (e.g. a
     * device only a third-party hardware listener reports). Prefixes like bind mounts. Default: none.
     */
    allowDevicePaths: z
      .array(allowedHostPath)
      .max(LIST_MAX, `must list at most ${LIST_MAX} paths`)
      .default([]),
    /** May a container share the node's network stack (`networks: [host]`)? Default: no. */
    allowHostNetwork: z.boolean().default(false),
    /**
     * Existing networks this agent did not create that containers may join (e.g. an operator's macvlan on
     * the plant LAN). Networks the agent creates itself (`networks.create`) and Docker's `bridge` need no entry.
     */
    allowNetworks: z.array(networkName).max(LIST_MAX, `must list at most ${LIST_MAX} names`).default([]),
    /** Drivers `networks.create` may use. Default: `bridge` only (macvlan / ipvlan put containers on the LAN). */
    allowNetworkDrivers: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,31}$/, "must be a network driver name"))
      .min(1, "must name at least one driver")
      .max(LIST_MAX, `must list at most ${LIST_MAX} drivers`)
      .default(["bridge"]),
  })
  .strict();
export type HostPolicy = z.output<typeof hostPolicySchema>;
export type HostPolicyInput = z.input<typeof hostPolicySchema>;

/** The policy of a node that says nothing (or an agent older than the policy): least privilege. */
export const DEFAULT_HOST_POLICY: HostPolicy = Object.freeze(hostPolicySchema.parse({}));
