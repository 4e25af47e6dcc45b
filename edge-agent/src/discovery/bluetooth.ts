import type { DeviceRule } from "../config";
import type { Device } from "@openiotfog/shared";
import { classify, usbFields, type DeviceFinding } from "./classify";
import { type HostTree, list, resolve } from "./sysfs";
import { usbAncestor, usbKey } from "./usb";

/** Bluetooth adapters (hciN). They have no /dev node; the path names the sysfs class entry. */
export async function fingerprintBluetooth(
  tree: HostTree,
  rules: readonly DeviceRule[],
): Promise<DeviceFinding> {
  const devices: Device[] = [];
  const usbConsumed = new Set<string>();
  for (const name of await list(tree.sys("class", "bluetooth"))) {
    if (name.includes(":")) continue; // connections, not adapters
    const real = await resolve(tree.sys("class", "bluetooth", name));
    const usb = real === undefined ? undefined : await usbAncestor(tree, real);
    if (usb !== undefined) usbConsumed.add(usb.sysPath);
    devices.push({
      id: usb !== undefined ? `bluetooth-${usbKey(usb)}` : `bluetooth-${name}`,
      ...classify(usb, rules, "bluetooth"),
      ...usbFields(usb),
      path: `/sys/class/bluetooth/${name}`,
      protocols: ["bluetooth"],
    });
  }
  return { devices, usbConsumed };
}
