import type { Component, DeploymentInfo, Device, Logger, NodeCapabilities } from "@openiotfog/shared";
import type { DeviceRule } from "../config";
import { BUILTIN_DEVICE_RULES, matchDeviceRule } from "../discovery/device-rules";
import type { EventBus } from "../monitoring/bus";
import { optionalPart } from "../optional-part";
import type { HardwareConfig } from "./config";
import { HardwareEventEndpoint } from "./endpoint";
import { HardwareEventHandler } from "./handler";
import { UdevListener, hasUdevadm, type UsbClassifier } from "./udev";
import { DeviceUsageTracker } from "./usage";
import type { NodeSecurity } from "../security/node-security";

/** The configuration sections the hardware parts read. */
export interface HardwareOptions {
  hardware: HardwareConfig;
  discovery: { deviceRules: DeviceRule[] };
}

/** The capability service as the hardware parts see it: discovery with an overlay of hot-plug events. */
export interface DeviceDiscovery {
  current(): NodeCapabilities;
  rescanDevices(): Promise<unknown>;
  setDeviceOverlay(overlay: ((discovered: Device[]) => Device[]) | undefined): void;
  on(event: "devices", listener: () => void): unknown;
}

/** The deployments as the device tracker sees them. */
export interface DeviceUsingDeployments {
  list(): Promise<DeploymentInfo[]>;
  /** Re-creates the deployment's container with its devices at their current host paths. */
  restoreDevices(id: string, devices: Device[]): Promise<unknown>;
}

export interface HardwareParts {
  handler: HardwareEventHandler;
  endpoint: HardwareEventEndpoint;
  /** The devices of running services: re-creates a container whose device came back elsewhere. */
  tracker: DeviceUsageTracker;
  /** Started after MQTT presence: the device check, the hardware event endpoint, the udev listener. */
  late: Component[];
}

function classifierFrom(rules: readonly DeviceRule[]): UsbClassifier {
  const all = [...rules, ...BUILTIN_DEVICE_RULES];
  return (usb, fallback) => {
    const rule = usb === undefined ? undefined : matchDeviceRule(usb, all);
    if (rule === undefined) return { class: fallback };
    return rule.protocols.length > 0
      ? { class: rule.class, protocols: rule.protocols }
      : { class: rule.class };
  };
}

/**
 * Hardware events (docs/agent-events.md): hot-plug events layered over discovery, the endpoint hardware
 * listeners publish to (and udev where there is one), and the devices the deployments use.
 */
export function createHardwareParts(
  config: HardwareOptions,
  capabilities: DeviceDiscovery,
  deployments: DeviceUsingDeployments,
  bus: EventBus,
  logger: Logger,
  /** The node's keys and trust list: a network-bound hardware endpoint needs CurveZMQ. */
  security?: NodeSecurity,
): HardwareParts {
  const log = (part: string): Logger => logger.child({ part });
  // Hot-plug events layered over discovery: the capability service applies the overlay on every scan.
  let discovered: Device[] = [];
  const handler = new HardwareEventHandler({
    logger: log("hardware"),
    bus,
    discovered: () => discovered,
    onChange: async () => {
      // A scan already in flight may have read the overlay before this change: scan until it shows.
      for (let i = 0; i < 3; i++) {
        await capabilities.rescanDevices();
        const want = JSON.stringify(
          handler
            .currentDevices()
            .map((d) => d.id)
            .sort(),
        );
        const have = JSON.stringify(
          capabilities
            .current()
            .devices.map((d) => d.id)
            .sort(),
        );
        if (want === have) return;
      }
    },
  });
  capabilities.setDeviceOverlay((found) => {
    discovered = found;
    return handler.devices.merge(found);
  });
  const endpoint = new HardwareEventEndpoint(config.hardware.bind, handler, log("hardware"), security);

  const tracker = new DeviceUsageTracker(
    {
      list: async () =>
        (await deployments.list()).map((d) => ({
          deploymentId: d.deploymentId,
          service: d.service,
          devices: d.devices,
        })),
      restore: async (id, devices) => void (await deployments.restoreDevices(id, devices)),
    },
    bus,
    log("devices"),
  );
  capabilities.on("devices", () => void tracker.reconcile(capabilities.current().devices));
  const deviceCheck: Component = {
    name: "device-check",
    // A device may have gone while the agent was down: check what the deployments use now.
    start: () => tracker.reconcile(capabilities.current().devices),
    stop: async () => undefined,
  };

  const late: Component[] = [deviceCheck, optionalPart(endpoint, logger)];
  const udev = config.hardware.udev;
  if (udev === true || (udev === "auto" && hasUdevadm())) {
    late.push(new UdevListener(handler, classifierFrom(config.discovery.deviceRules), log("udev")));
  }
  return { handler, endpoint, tracker, late };
}
