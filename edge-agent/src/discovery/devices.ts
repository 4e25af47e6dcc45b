import type { Device } from "@openiotfog/shared";
import type { DeviceRule } from "../config";
import { fingerprintBluetooth } from "./bluetooth";
import { classify, usbFields } from "./classify";
import { BUILTIN_DEVICE_RULES } from "./device-rules";
import { fingerprintGpio } from "./gpio";
import { fingerprintSerialPorts } from "./serial";
import { exists, type HostTree } from "./sysfs";
import { listUsbDevices, usbKey } from "./usb";
import { fingerprintVideo } from "./video";

/**
 * Hardware discovery from sysfs and /dev: one fingerprinter module per kind of device (serial, bluetooth,
 * video, gpio); USB devices none of them claimed appear as a plain `usb` device (or what a rule says).
 */
/** USB devices no other fingerprinter claimed, as class `usb` (or what a rule says). */
async function fingerprintOtherUsb(
  tree: HostTree,
  rules: readonly DeviceRule[],
  consumed: Set<string>,
): Promise<Device[]> {
  const devices: Device[] = [];
  for (const usb of await listUsbDevices(tree)) {
    if (consumed.has(usb.sysPath)) continue;
    const busPath = tree.dev(
      "bus",
      "usb",
      String(usb.busnum).padStart(3, "0"),
      String(usb.devnum).padStart(3, "0"),
    );
    devices.push({
      id: `usb-${usbKey(usb)}`,
      ...classify(usb, rules, "usb"),
      ...usbFields(usb),
      path: (await exists(busPath))
        ? tree.logicalDev(busPath)
        : `/dev/bus/usb/${String(usb.busnum).padStart(3, "0")}/${String(usb.devnum).padStart(3, "0")}`,
    });
  }
  return devices;
}

/** Every device on the node, sorted by id so that two scans of the same hardware compare equal. */
export async function discoverDevices(
  tree: HostTree,
  operatorRules: readonly DeviceRule[] = [],
): Promise<Device[]> {
  const rules = [...operatorRules, ...BUILTIN_DEVICE_RULES];
  const findings = await Promise.all([
    fingerprintSerialPorts(tree, rules),
    fingerprintBluetooth(tree, rules),
    fingerprintVideo(tree, rules),
    fingerprintGpio(tree),
  ]);
  const consumed = new Set<string>();
  const devices: Device[] = [];
  for (const f of findings) {
    devices.push(...f.devices);
    for (const p of f.usbConsumed) consumed.add(p);
  }
  devices.push(...(await fingerprintOtherUsb(tree, rules, consumed)));
  return devices.sort((a, b) => a.id.localeCompare(b.id));
}
