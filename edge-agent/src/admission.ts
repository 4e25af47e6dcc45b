import {
  IotFogError,
  checkAdmission,
  type Allocation,
  type DeployParams,
  type DeviceAssignment,
  type NodeCapabilities,
} from "@openiotfog/shared";
import type { DeploymentRecord } from "./state/store";

/** What this node has already promised, as placement's allocations (the deployment being admitted excluded). */
export function allocationsOf(records: readonly DeploymentRecord[], exclude: string): Allocation[] {
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
  records: readonly DeploymentRecord[],
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
    const current = [now.path, now.stablePath].filter((p): p is string => p !== undefined);
    const hostPath = current.includes(assignment.hostPath)
      ? assignment.hostPath
      : (now.stablePath ?? now.path);
    return { ...assignment, device: now, hostPath };
  });
}
