import type { ServiceSpec } from "../blueprint/spec";
import { IotFogError } from "../errors";
import { isUnderHostPath, normaliseHostPath, type HostPolicy } from "./schema";

/**
 * The host-safety policy check: pure, one answer for every source of a deploy (driver, fleet API, Open Baton,
 * a peer's forward, the agent's own saved state, a hardware event re-pointing a device). Two levels:
 * `specViolations` needs only the request (placement uses it, so a node that would refuse is not chosen);
 * `deployViolations` adds what only the agent knows (its networks, its discovered devices, its leases).
 */

/** Stable rule names: they appear in every refusal and in docs/security.md. */
export const hostPolicyRules = [
  /** A host path bind-mounted outside `allowBindMounts`. */
  "bind-mount",
  /** A volume source or target Docker would read as something else (`:` options, relative paths). */
  "volume-syntax",
  /** `networks: [host]` without `allowHostNetwork`. */
  "host-network",
  /** `container:<id>` and other namespace-sharing network modes: never allowed. */
  "network-mode",
  /** An existing network this agent did not create and the operator did not list in `allowNetworks`. */
  "undeclared-network",
  /** `networks.create` with a driver outside `allowNetworkDrivers`. */
  "network-driver",
  /** A device path the agent's own discovery did not find and `allowDevicePaths` does not cover. */
  "undiscovered-device",
  /** A device another deployment holds, where either side needs it exclusively. */
  "exclusive-device",
  /** A device assignment that matches no requirement of the spec. */
  "device-assignment",
] as const;
export type HostPolicyRule = (typeof hostPolicyRules)[number];

export interface PolicyViolation {
  /** The request field, as a zod path reads: `spec.volumes[0].source`, `networks[0].name`, `devices[0].hostPath`. */
  field: string;
  rule: HostPolicyRule;
  /** `spec.volumes[0].source: host path "/" ... (rule bind-mount)`: names the field and the rule. */
  message: string;
}

function violation(field: string, rule: HostPolicyRule, problem: string): PolicyViolation {
  return { field, rule, message: `${field}: ${problem} (host-safety rule ${rule})` };
}

const list = (items: readonly string[]): string => (items.length === 0 ? "none" : items.join(", "));

/** Docker's volume-name alphabet: anything else that is not an absolute path would not be a named volume. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const BIND_UNSAFE = /[:,\p{Cc}]/u;

/** Network names that need no declaration: Docker's default bridge and "no network at all". */
const HARMLESS_NETWORKS: ReadonlySet<string> = new Set(["bridge", "default", "none"]);

/** The request as the policy reads it: the deploy command's params (defaults applied) or a placement request. */
export interface PolicyRequest {
  spec: Pick<ServiceSpec, "volumes" | "networks" | "devices">;
  /** Networks with fixed addresses; when given they replace `spec.networks` (as the runtime does). */
  networks?: ReadonlyArray<{ name: string }>;
  devices?: ReadonlyArray<{
    requirement: number;
    device: { id: string };
    hostPath: string;
    exclusive: boolean;
  }>;
}

function volumeViolations(spec: PolicyRequest["spec"], policy: HostPolicy): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  spec.volumes.forEach((v, i) => {
    const field = `spec.volumes[${i}]`;
    if (BIND_UNSAFE.test(v.target)) {
      out.push(
        violation(
          `${field}.target`,
          "volume-syntax",
          `"${v.target}" contains ':', ',' or a control character, which Docker would read as mount options`,
        ),
      );
    }
    if (v.source.startsWith("/")) {
      if (BIND_UNSAFE.test(v.source)) {
        out.push(
          violation(
            `${field}.source`,
            "volume-syntax",
            `host path "${v.source}" contains ':', ',' or a control character, which Docker would read as mount options`,
          ),
        );
        return;
      }
      const path = normaliseHostPath(v.source);
      if (!policy.allowBindMounts.some((root) => isUnderHostPath(path, root))) {
        const shown = path === v.source ? `"${path}"` : `"${v.source}" (that is "${path}")`;
        out.push(
          violation(
            `${field}.source`,
            "bind-mount",
            `bind mount of host path ${shown} is refused: only paths under hostPolicy.allowBindMounts (${list(policy.allowBindMounts)}) may be mounted; named volumes are always allowed`,
          ),
        );
      }
    } else if (!VOLUME_NAME.test(v.source)) {
      out.push(
        violation(
          `${field}.source`,
          "volume-syntax",
          `"${v.source}" is neither an absolute host path nor a Docker volume name (letters, digits, '_', '.', '-')`,
        ),
      );
    }
  });
  return out;
}

/** The networks the container joins and the field that named each. */
function networkRefs(request: PolicyRequest): Array<{ name: string; field: string }> {
  if (request.networks !== undefined)
    return request.networks.map((n, i) => ({ name: n.name, field: `networks[${i}].name` }));
  return (request.spec.networks ?? []).map((name, i) => ({ name, field: `spec.networks[${i}]` }));
}

function networkModeViolations(request: PolicyRequest, policy: HostPolicy): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  for (const { name, field } of networkRefs(request)) {
    if (name.includes(":")) {
      out.push(
        violation(
          field,
          "network-mode",
          `network mode "${name}" would share another namespace with the container; it is never allowed`,
        ),
      );
    } else if (name === "host" && !policy.allowHostNetwork) {
      out.push(
        violation(
          field,
          "host-network",
          `the host network is refused: the node's operator has not set hostPolicy.allowHostNetwork`,
        ),
      );
    }
  }
  return out;
}

/**
 * What the request alone says against the policy: bind mounts, volume syntax, host and namespace network
 * modes. Placement (which knows the nodes' advertised policies, not their networks or devices) uses this.
 */
export function specViolations(request: PolicyRequest, policy: HostPolicy): PolicyViolation[] {
  return [...volumeViolations(request.spec, policy), ...networkModeViolations(request, policy)];
}

/** A network as the node's engine knows it. */
export interface PolicyNetwork {
  id: string;
  name: string;
  driver: string;
  /** Created by this agent (through `networks.create`, so under the driver allow-list). */
  managed: boolean;
}

/** What only the agent knows when it judges a deploy. */
export interface HostFacts {
  /** The node's networks now. */
  networks: readonly PolicyNetwork[];
  /** Paths (kernel and stable) of the devices the agent's own discovery found. */
  discoveredDevicePaths: ReadonlySet<string>;
  /** Devices other deployments of this node hold. */
  heldDevices: ReadonlyArray<{ deviceId: string; deploymentId: string; exclusive: boolean }>;
}

/** Which existing networks a reference names, resolved as Docker does: full id, then name, then id prefix. */
function resolveNetwork(ref: string, networks: readonly PolicyNetwork[]): PolicyNetwork[] {
  const byId = networks.filter((n) => n.id === ref);
  if (byId.length > 0) return byId;
  const byName = networks.filter((n) => n.name === ref);
  if (byName.length > 0) return byName;
  return /^[a-f0-9]+$/.test(ref) ? networks.filter((n) => n.id.startsWith(ref)) : [];
}

function declaredNetworkViolations(
  request: PolicyRequest,
  policy: HostPolicy,
  networks: readonly PolicyNetwork[],
): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  for (const { name, field } of networkRefs(request)) {
    if (name.includes(":") || name === "host") continue; // already judged by networkModeViolations
    for (const n of resolveNetwork(name, networks)) {
      if (n.driver === "host") {
        if (!policy.allowHostNetwork) {
          out.push(
            violation(
              field,
              "host-network",
              `"${name}" is the host network (driver host): the node's operator has not set hostPolicy.allowHostNetwork`,
            ),
          );
        }
      } else if (
        !n.managed &&
        !HARMLESS_NETWORKS.has(n.name) &&
        !policy.allowNetworks.includes(n.name) &&
        n.driver !== "null"
      ) {
        out.push(
          violation(
            field,
            "undeclared-network",
            `network "${n.name}" (driver ${n.driver}) was not created by this agent and is not in hostPolicy.allowNetworks (${list(policy.allowNetworks)})`,
          ),
        );
      }
    }
  }
  return out;
}

function deviceViolations(request: PolicyRequest, policy: HostPolicy, facts: HostFacts): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  const seen = new Map<string, boolean>();
  (request.devices ?? []).forEach((a, i) => {
    const field = `devices[${i}]`;
    const requirement = request.spec.devices[a.requirement];
    if (requirement === undefined) {
      out.push(
        violation(
          `${field}.requirement`,
          "device-assignment",
          `spec.devices has no requirement ${a.requirement}; a device is only mapped for a requirement of the spec`,
        ),
      );
      return;
    }
    const path = normaliseHostPath(a.hostPath);
    const known =
      path === a.hostPath &&
      (facts.discoveredDevicePaths.has(path) ||
        policy.allowDevicePaths.some((root) => isUnderHostPath(path, root)));
    if (!known) {
      out.push(
        violation(
          `${field}.hostPath`,
          "undiscovered-device",
          `device path "${a.hostPath}" was not found by this node's device discovery and is not under hostPolicy.allowDevicePaths (${list(policy.allowDevicePaths)})`,
        ),
      );
    }
    // Exclusivity is the spec's, never the caller's: an assignment cannot declare an exclusive device shared.
    const exclusive = requirement.exclusive;
    const holder = facts.heldDevices.find((h) => h.deviceId === a.device.id && (h.exclusive || exclusive));
    const twice = seen.get(a.device.id);
    if (holder !== undefined || (twice !== undefined && (twice || exclusive))) {
      out.push(
        violation(
          `${field}.device`,
          "exclusive-device",
          `device ${a.device.id} is already held by ${holder?.deploymentId ?? "another requirement of this deploy"}${exclusive ? " and this deploy needs it exclusively" : " exclusively"}`,
        ),
      );
    }
    seen.set(a.device.id, (twice ?? false) || exclusive);
  });
  return out;
}

/** Everything the agent checks before it creates a container for a deploy (or re-creates one). */
export function deployViolations(
  request: PolicyRequest,
  policy: HostPolicy,
  facts: HostFacts,
): PolicyViolation[] {
  return [
    ...specViolations(request, policy),
    ...declaredNetworkViolations(request, policy, facts.networks),
    ...deviceViolations(request, policy, facts),
  ];
}

/** `networks.create`: the driver must be one the operator allows. */
export function networkDriverViolations(driver: string, policy: HostPolicy): PolicyViolation[] {
  if (policy.allowNetworkDrivers.includes(driver)) return [];
  return [
    violation(
      "driver",
      "network-driver",
      `network driver "${driver}" is refused: hostPolicy.allowNetworkDrivers allows ${list(policy.allowNetworkDrivers)}`,
    ),
  ];
}

/** The refusal: POLICY_REFUSED, one sentence naming every field and rule, the violations in the details. */
export function policyRefusal(
  nodeId: string,
  what: string,
  violations: readonly PolicyViolation[],
): IotFogError {
  return new IotFogError(
    "POLICY_REFUSED",
    `node ${nodeId} refuses ${what} by its host-safety policy: ${violations.map((v) => v.message).join("; ")}`,
    { violations: violations.map((v) => ({ field: v.field, rule: v.rule, message: v.message })) },
  );
}
