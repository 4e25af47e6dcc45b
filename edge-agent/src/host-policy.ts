import {
  deployViolations,
  type Logger,
  type NodeEventType,
  policyRefusal,
  specViolations,
  type DeviceAssignment,
  type HostFacts,
  type HostPolicy,
  type NetworkAttachment,
  type PolicyViolation,
  type ServiceSpec,
} from "@openiotfog/shared";
import type { ContainerRuntime } from "./runtime/runtime";
import type { SavedDeployment, StateStore } from "./state/store";

/** What a container would be created from: a deploy request after admission, or a saved record. */
export interface GuardedRequest {
  deploymentId: string;
  spec: ServiceSpec;
  networks?: NetworkAttachment[];
  devices: readonly DeviceAssignment[];
}

/** Where the agent's own device discovery is asked (the capability service). */
export interface DiscoveredDevices {
  discoveredDevicePaths(rescan: boolean): Promise<Set<string>>;
}

/**
 * The agent's side of the host-safety policy (the rules are the pure check in @openiotfog/shared): gathers what
 * only the node knows (its networks, the devices its discovery found, the devices its deployments hold) and
 * refuses with POLICY_REFUSED naming each field and rule. Every path to a container goes through here: a deploy
 * from any source, a device re-mapped after a hardware event, a saved deployment re-created at start.
 */
export class HostPolicyGuard {
  constructor(
    private readonly nodeId: string,
    readonly policy: HostPolicy,
    private readonly runtime: ContainerRuntime,
    private readonly devices: DiscoveredDevices,
  ) {}

  /** Before admission: what the request alone breaks (so admission never reports a policy problem as its own). */
  checkSpec(request: Omit<GuardedRequest, "devices">): void {
    const violations = specViolations(request, this.policy);
    if (violations.length > 0) throw policyRefusal(this.nodeId, request.spec.name, violations);
  }

  /** The full check; `others` are the node's other deployments (their device leases count). */
  async violations(request: GuardedRequest, others: readonly SavedDeployment[]): Promise<PolicyViolation[]> {
    const facts = async (rescan: boolean): Promise<HostFacts> => ({
      networks: await this.runtime.listNetworks(),
      discoveredDevicePaths: await this.devices.discoveredDevicePaths(rescan),
      heldDevices: heldDevices(others, request.deploymentId),
    });
    const found = deployViolations(request, this.policy, await facts(false));
    // Discovery scans on an interval: a device plugged in a moment ago is looked for once more before refusing.
    if (!found.some((v) => v.rule === "undiscovered-device")) return found;
    return deployViolations(request, this.policy, await facts(true));
  }

  async check(request: GuardedRequest, others: readonly SavedDeployment[]): Promise<void> {
    const violations = await this.violations(request, others);
    if (violations.length > 0) throw policyRefusal(this.nodeId, request.spec.name, violations);
  }
}

/** Device leases of the node's deployments but one; exclusivity as their specs say. */
export function heldDevices(records: readonly SavedDeployment[], except: string): HostFacts["heldDevices"] {
  return records
    .filter((r) => r.deploymentId !== except)
    .flatMap((r) =>
      r.devices.map((d) => ({
        deviceId: d.device.id,
        deploymentId: r.deploymentId,
        exclusive: r.spec.devices[d.requirement]?.exclusive ?? d.exclusive,
      })),
    );
}

/** Assignments with the exclusivity their requirement has (a caller's `exclusive: false` does not share a stick). */
export function withSpecExclusivity(
  spec: ServiceSpec,
  devices: readonly DeviceAssignment[],
): DeviceAssignment[] {
  return devices.map((a) => ({ ...a, exclusive: spec.devices[a.requirement]?.exclusive ?? a.exclusive }));
}

export interface SavedStateSweep {
  guard: HostPolicyGuard;
  store: StateStore;
  logger: Logger;
  emit: (type: NodeEventType, data: Record<string, unknown>) => void;
  /** The deployment manager's per-deployment lock. */
  serial: (id: string, fn: () => Promise<void>) => Promise<void>;
  removeContainers: (id: string) => Promise<unknown>;
}

/**
 * A saved deployment the host-safety policy refuses (written before the policy was narrowed, or by hand into the
 * state file) is not re-created: its record and its container go (Docker's restart policy would bring the
 * container back after a reboot), with an error in the log and a `deployment.failed` event, so a host-root
 * container cannot survive a reboot through the saved state. Oldest first, each judged against the ones kept
 * before it: of two holding one exclusive stick, the first holder stays.
 */
export async function dropRefusedSavedState(d: SavedStateSweep): Promise<void> {
  const kept: SavedDeployment[] = [];
  for (const saved of [...d.store.all()].sort((a, b) => a.createdAt - b.createdAt)) {
    await d.serial(saved.deploymentId, async () => {
      const record = d.store.get(saved.deploymentId);
      if (record === undefined) return; // removed meanwhile
      const violations = await d.guard.violations(record, kept);
      if (violations.length === 0) {
        kept.push(record);
        return;
      }
      const error = violations.map((v) => v.message).join("; ");
      d.logger.error("saved deployment refused by the host-safety policy; removing it", {
        deploymentId: record.deploymentId,
        service: record.spec.name,
        violations: error,
      });
      await d.removeContainers(record.deploymentId);
      await d.store.delete(record.deploymentId);
      d.emit("deployment.failed", {
        deploymentId: record.deploymentId,
        error: `host-safety policy: ${error}`,
        violations: violations.map((v) => ({ field: v.field, rule: v.rule })),
      });
    });
  }
}
