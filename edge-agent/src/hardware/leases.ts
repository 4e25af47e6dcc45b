import type { DeploymentInfo, Device, ServiceSpec } from "@openiotfog/shared";

/**
 * Exclusive device leases. Admission already refuses a device another deployment holds (placement's device
 * filter sees this node's allocations); this gate closes the window between two concurrent deploys that both
 * pass admission before either is recorded: deploys that need devices run one at a time.
 */
export class DeviceLeaseGate {
  private chain: Promise<unknown> = Promise.resolve();

  run<T>(spec: ServiceSpec, fn: () => Promise<T>): Promise<T> {
    if (spec.devices.length === 0) return fn();
    const next = this.chain.catch(() => undefined).then(fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

/** Which deployments hold each device (for the REST status): device id → deployment ids. */
export function deviceHolders(
  devices: readonly Device[],
  deployments: readonly DeploymentInfo[],
): Array<{
  device: Device;
  heldBy: string[];
}> {
  return devices.map((device) => ({
    device,
    heldBy: deployments
      .filter((d) => d.devices.some((m) => m.deviceId === device.id))
      .map((d) => d.deploymentId),
  }));
}
