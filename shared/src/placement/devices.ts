import { normaliseHexId, type Device } from "../capabilities/model";
import type { DeviceRequirement, ServiceSpec } from "../blueprint/spec";
import type { NodeView } from "./node-view";
import type { DeviceAssignment } from "./types";

/** `zigbee`, `10c4:ea60`, `serial 0x00124b00`, `usb 10c4:ea60 speaking zigbee`: how explanations name a requirement. */
export function describeDeviceRequirement(r: DeviceRequirement): string {
  const parts: string[] = [];
  if (r.class !== undefined) parts.push(r.class);
  if (r.vendorId !== undefined || r.productId !== undefined) {
    parts.push(
      `${r.vendorId === undefined ? "*" : normaliseHexId(r.vendorId)}:${r.productId === undefined ? "*" : normaliseHexId(r.productId)}`,
    );
  }
  if (r.serial !== undefined) parts.push(`serial ${r.serial}`);
  if (r.protocol !== undefined) parts.push(`speaking ${r.protocol}`);
  return parts.join(" ");
}

/** Compiles a requirement into a test on one device (fields given must all match; ids and class ignore case). */
export function deviceMatcher(r: DeviceRequirement): (d: Device) => boolean {
  const cls = r.class?.toLowerCase();
  const vendor = r.vendorId === undefined ? undefined : normaliseHexId(r.vendorId);
  const product = r.productId === undefined ? undefined : normaliseHexId(r.productId);
  return (d) =>
    (cls === undefined || d.class.toLowerCase() === cls) &&
    (vendor === undefined || (d.vendorId !== undefined && normaliseHexId(d.vendorId) === vendor)) &&
    (product === undefined || (d.productId !== undefined && normaliseHexId(d.productId) === product)) &&
    (r.serial === undefined || d.serial === r.serial) &&
    (r.protocol === undefined || (d.protocols ?? []).includes(r.protocol));
}

/** Devices on the node matching the requirement and free for it, in a stable order (by id). */
export function usableDevices(
  node: NodeView,
  r: DeviceRequirement,
  matches: (d: Device) => boolean,
): Device[] {
  return node.caps.devices
    .filter((d) => matches(d) && node.deviceBlocker(d, r.exclusive) === undefined)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Gives every requirement of the spec its own device on this node, or undefined when impossible. Small
 * backtracking search: two requirements may match the same devices (two serial adapters), and a greedy pick
 * could take the only device the second one can use.
 */
export function assignDevices(spec: ServiceSpec, node: NodeView): DeviceAssignment[] | undefined {
  const requirements = spec.devices;
  if (requirements.length === 0) return [];
  const candidates = requirements.map((r) => usableDevices(node, r, deviceMatcher(r)));
  const chosen: Device[] = [];
  const taken = new Set<string>();
  const search = (i: number): boolean => {
    if (i === requirements.length) return true;
    for (const d of candidates[i] ?? []) {
      if (taken.has(d.id)) continue;
      taken.add(d.id);
      chosen[i] = d;
      if (search(i + 1)) return true;
      taken.delete(d.id);
    }
    return false;
  };
  if (!search(0)) return undefined;
  return requirements.map((r, i) => {
    const device = chosen[i] as Device;
    return {
      requirement: i,
      device,
      // The stable by-id path survives re-plugging; the container sees the kernel name unless told otherwise.
      hostPath: device.stablePath ?? device.path,
      containerPath: r.containerPath ?? device.path,
      exclusive: r.exclusive,
    };
  });
}
