import path from "node:path";
import type { Device } from "@openiotfog/shared";
import type { DeviceRule } from "../config";
import { classify, usbFields, type DeviceFinding } from "./classify";
import { type HostTree, linkTarget, list, resolve } from "./sysfs";
import { usbAncestor, usbKey } from "./usb";

/** Serial ports: USB-backed ttys and anything under /dev/serial/by-id (stable names survive re-plugging). */
export async function fingerprintSerialPorts(
  tree: HostTree,
  rules: readonly DeviceRule[],
): Promise<DeviceFinding> {
  const byIdDir = tree.dev("serial", "by-id");
  const stableByTty = new Map<string, string>();
  for (const link of await list(byIdDir)) {
    const target = await linkTarget(path.join(byIdDir, link));
    if (target !== undefined) stableByTty.set(path.basename(target), link);
  }
  const devices: Device[] = [];
  const usbConsumed = new Set<string>();
  for (const name of await list(tree.sys("class", "tty"))) {
    const devicePath = await resolve(tree.sys("class", "tty", name, "device"));
    if (devicePath === undefined) continue; // virtual terminals have no device
    const usb = await usbAncestor(tree, devicePath);
    const stable = stableByTty.get(name);
    if (usb === undefined && stable === undefined) continue; // on-board UARTs nobody wired up
    if (usb !== undefined) usbConsumed.add(usb.sysPath);
    const device: Device = {
      id: stable ?? (usb !== undefined ? `usb-${usbKey(usb)}-${name}` : `tty-${name}`),
      ...classify(usb, rules, "serial"),
      ...usbFields(usb),
      path: `/dev/${name}`,
    };
    if (stable !== undefined) device.stablePath = `/dev/serial/by-id/${stable}`;
    devices.push(device);
  }
  return { devices, usbConsumed };
}
