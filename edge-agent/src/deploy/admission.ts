import {
  IotFogError,
  checkAdmission,
  type Allocation,
  type DeployParams,
  type DeviceAssignment,
  type NodeCapabilities,
} from "@openiotfog/shared";
import { withSpecExclusivity, type HostPolicyGuard } from "../host-policy";
import { DEPLOYMENT_LABEL, type ContainerStatus } from "../runtime/runtime";
import type { SavedDeployment } from "../state/store";
import { repointAssignment } from "./containers";

/** What this node has already promised, as placement's allocations (the deployment being admitted excluded). */
export function allocationsOf(records: readonly SavedDeployment[], exclude: string): Allocation[] {
  return records
    .filter((r) => r.deploymentId !== exclude)
    .map((r) => ({
      deploymentId: r.deploymentId,
      service: r.spec.name,
      replica: r.replica,
      state: "placed" as const,
      resources: { ...r.spec.resources },
      devices: r.devices.map((d) => ({ id: d.device.id, exclusive: d.exclusive })),
    }));
}

/**
 * The agent's own admission check before it creates anything: would the shared placement engine still put this
 * replica here, given the node's capabilities now (a device may have been unplugged since the driver chose this
 * node) and what it already runs? Refuses with the engine's explanation. Returns the devices to pass through:
 * those placement chose (re-pointed at the device's current path), or the engine's own choice when the request
 * named none.
 */
export function admit(
  params: DeployParams,
  capabilities: NodeCapabilities,
  records: readonly SavedDeployment[],
): DeviceAssignment[] {
  const decision = checkAdmission(
    params.spec,
    { capabilities, online: true, allocations: allocationsOf(records, params.deploymentId) },
    { deploymentId: params.deploymentId, replica: params.replica },
  );
  if (!decision.ok) {
    throw new IotFogError(
      "ADMISSION_REFUSED",
      `node ${capabilities.nodeId} refuses ${params.spec.name}: ${decision.message}`,
      {
        explanation: decision.explanation,
      },
    );
  }
  if (params.devices.length === 0) return decision.devices;
  return params.devices.map((assignment) => {
    const now = capabilities.devices.find((d) => d.id === assignment.device.id);
    if (now === undefined) {
      throw new IotFogError(
        "ADMISSION_REFUSED",
        `node ${capabilities.nodeId} refuses ${params.spec.name}: device ${assignment.device.id} (${assignment.hostPath}) chosen by placement is no longer on this node`,
        { deviceId: assignment.device.id },
      );
    }
    return repointAssignment(assignment, now);
  });
}

/**
 * The deployments whose device leases count: all but those whose container died for good (desired running,
 * exited or dead, and a restart policy of "no": nothing brings it back). A dead container does not keep a stick
 * from the next service; starting it again is checked against the leases then held.
 */
export async function leaseHolders(
  records: SavedDeployment[],
  listContainers: () => Promise<ContainerStatus[]>,
): Promise<SavedDeployment[]> {
  const mayHaveDied = records.filter(
    (r) => r.devices.length > 0 && r.desired === "running" && r.spec.restart === "no",
  );
  if (mayHaveDied.length === 0) return records;
  const containers = await listContainers();
  const dead = new Set(
    mayHaveDied
      .filter((r) => {
        const c = containers.find((x) => x.labels[DEPLOYMENT_LABEL] === r.deploymentId);
        return c !== undefined && (c.state === "exited" || c.state === "dead");
      })
      .map((r) => r.deploymentId),
  );
  return records.filter((r) => !dead.has(r.deploymentId));
}

/**
 * The admission stage of a new deployment, in order: the host-safety policy on the request alone (so admission
 * never reports a policy problem as its own), the placement engine's admission against the leases held now
 * (when `admission.enabled`), then the full policy check with the devices chosen. Returns the devices to pass
 * through, with the exclusivity their requirement has; throws POLICY_REFUSED or ADMISSION_REFUSED.
 */
export async function admitNewDeployment(
  params: DeployParams,
  stage: {
    guard: HostPolicyGuard;
    capabilities: () => NodeCapabilities;
    admissionEnabled: boolean;
    holders: () => Promise<SavedDeployment[]>;
  },
): Promise<DeviceAssignment[]> {
  const request = { deploymentId: params.deploymentId, spec: params.spec, networks: params.networks };
  stage.guard.checkSpec(request);
  const holders = await stage.holders();
  const chosen = stage.admissionEnabled ? admit(params, stage.capabilities(), holders) : params.devices;
  await stage.guard.check({ ...request, devices: chosen }, holders);
  return withSpecExclusivity(params.spec, chosen);
}
