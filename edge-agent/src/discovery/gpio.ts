import path from "node:path";
import type { Device } from "@openiotfog/shared";
import type { DeviceFinding } from "./classify";
import { type HostTree, list, readAttr, resolve } from "./sysfs";

/** GPIO character devices (/dev/gpiochipN), labelled with the controller name when sysfs has it. */
export async function fingerprintGpio(tree: HostTree): Promise<DeviceFinding> {
  const devices: Device[] = [];
  for (const name of await list(tree.devRoot)) {
    if (!/^gpiochip\d+$/.test(name)) continue;
    const device: Device = { id: `gpio-${name}`, class: "gpio", path: `/dev/${name}` };
    // The legacy class entry (gpio/gpiochipNNN) next to the chip device carries the controller's label.
    const chip = await resolve(tree.sys("bus", "gpio", "devices", name));
    if (chip !== undefined) {
      const legacyDir = path.join(path.dirname(chip), "gpio");
      for (const entry of await list(legacyDir)) {
        const label = await readAttr(path.join(legacyDir, entry), "label");
        if (label !== undefined) {
          device.product = label;
          break;
        }
      }
    }
    devices.push(device);
  }
  return { devices, usbConsumed: new Set() };
}
