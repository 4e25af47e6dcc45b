import type { Device } from "@openiotfog/shared";
import type { DeviceRule } from "../config";
import { classify, usbFields, type DeviceFinding } from "./classify";
import { type HostTree, list, readAttr, resolve } from "./sysfs";
import { usbAncestor, usbKey } from "./usb";

/** Video capture devices. UVC cameras expose a metadata node too (index 1); only the capture node counts. */
export async function fingerprintVideo(tree: HostTree, rules: readonly DeviceRule[]): Promise<DeviceFinding> {
  const devices: Device[] = [];
  const usbConsumed = new Set<string>();
  for (const name of await list(tree.sys("class", "video4linux"))) {
    const dir = tree.sys("class", "video4linux", name);
    const index = await readAttr(dir, "index");
    if (index !== undefined && index !== "0") continue;
    const real = await resolve(dir);
    const usb = real === undefined ? undefined : await usbAncestor(tree, real);
    if (usb !== undefined) usbConsumed.add(usb.sysPath);
    const device: Device = {
      id: usb !== undefined ? `camera-${usbKey(usb)}` : `camera-${name}`,
      ...classify(usb, rules, "camera"),
      ...usbFields(usb),
      path: `/dev/${name}`,
    };
    const label = await readAttr(dir, "name");
    if (device.product === undefined && label !== undefined) device.product = label;
    devices.push(device);
  }
  return { devices, usbConsumed };
}
