import { errorMessage, isIotFogError, type Device, type Logger } from "@openiotfog/shared";
import type { EventBus } from "../monitoring/bus";

/** A deployment with the host devices mapped into its container. */
export interface DeviceUser {
  deploymentId: string;
  service: string;
  devices: Array<{ deviceId: string; hostPath: string; containerPath: string }>;
}

/** What the tracker needs from the agent's state and runtime. */
export interface DeviceUsersPort {
  list(): Promise<DeviceUser[]>;
  /**
   * Re-creates the deployment's container so its mappings point at the devices' current host paths (a
   * re-plugged stick may come back as /dev/ttyACM1). Docker cannot add a device to a running container.
   */
  restore(deploymentId: string, devices: Device[]): Promise<void>;
}

export interface DegradedInfo {
  since: string;
  missingDevices: string[];
}

/**
 * Devices and running services: a deployment whose device disappears is marked degraded (and an event says
 * so; the driver side decides whether to move it); when every missing device is back, the agent restores the
 * device mapping and raises `deployment.restored`. Works from the node's device list, so it covers devices
 * that hardware listeners report as well as those discovery notices by itself.
 */
export class DeviceUsageTracker {
  private readonly degraded = new Map<string, { since: string; missing: Set<string>; service: string }>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly users: DeviceUsersPort,
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  /** Compares deployments' devices with the node's devices; serialised so changes apply in order. */
  reconcile(devices: readonly Device[]): Promise<void> {
    const snapshot = [...devices];
    this.chain = this.chain
      .then(() => this.reconcileNow(snapshot))
      .catch((e: unknown) => {
        this.logger.warn("device usage check failed", { error: errorMessage(e) });
      });
    return this.chain;
  }

  private async reconcileNow(devices: Device[]): Promise<void> {
    const present = new Map(devices.map((d) => [d.id, d]));
    const users = await this.users.list();
    const live = new Set(users.map((u) => u.deploymentId));
    for (const id of this.degraded.keys()) if (!live.has(id)) this.degraded.delete(id);
    for (const user of users) {
      if (user.devices.length === 0) continue;
      const missing = user.devices.filter((d) => !present.has(d.deviceId)).map((d) => d.deviceId);
      const known = this.degraded.get(user.deploymentId);
      if (missing.length > 0) {
        const newlyMissing = missing.filter((m) => known?.missing.has(m) !== true);
        if (known === undefined) {
          this.degraded.set(user.deploymentId, {
            since: new Date().toISOString(),
            missing: new Set(missing),
            service: user.service,
          });
        } else {
          known.missing = new Set(missing);
        }
        if (newlyMissing.length > 0) {
          this.bus.emit({
            type: "deployment.degraded",
            message: `deployment ${user.deploymentId} (${user.service}) is degraded: device ${newlyMissing.join(", ")} was detached`,
            deploymentId: user.deploymentId,
            service: user.service,
            deviceId: newlyMissing[0],
            data: { missingDevices: missing },
          });
        }
        continue;
      }
      if (known === undefined) continue;
      // Every device is back: map them again at their current paths.
      const back = user.devices
        .map((d) => present.get(d.deviceId))
        .filter((d): d is Device => d !== undefined);
      try {
        await this.users.restore(user.deploymentId, back);
        this.degraded.delete(user.deploymentId);
        this.bus.emit({
          type: "deployment.restored",
          message: `deployment ${user.deploymentId} (${user.service}) has its devices again: ${back.map((d) => `${d.id} at ${d.path}`).join(", ")}`,
          deploymentId: user.deploymentId,
          service: user.service,
          deviceId: back[0]?.id,
          data: { devices: back.map((d) => ({ id: d.id, path: d.path })) },
        });
      } catch (e) {
        this.logger.warn("could not restore a deployment's devices", {
          deploymentId: user.deploymentId,
          error: errorMessage(e),
        });
        // A device back at a path the host-safety policy does not allow (a listener saying the stick is /dev/sda).
        if (isIotFogError(e) && e.code === "POLICY_REFUSED") {
          this.bus.emit({
            type: "policy.refused",
            message: e.message,
            deploymentId: user.deploymentId,
            service: user.service,
            deviceId: back[0]?.id,
            data: e.details === undefined ? {} : { details: e.details },
          });
        }
      }
    }
  }

  /** Degraded deployments and what they miss (REST deployments view). */
  health(deploymentId: string): DegradedInfo | undefined {
    const d = this.degraded.get(deploymentId);
    return d === undefined ? undefined : { since: d.since, missingDevices: [...d.missing] };
  }

  degradedCount(): number {
    return this.degraded.size;
  }
}
