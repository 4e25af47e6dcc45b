import path from "node:path";
import { type HostTree, list, readAttr, resolve } from "./sysfs";

/** A USB device (not an interface, not a hub) as sysfs shows it. */
export interface UsbDevice {
  /** Real path of the device directory in sysfs. */
  sysPath: string;
  busnum: number;
  devnum: number;
  vendorId: string;
  productId: string;
  manufacturer?: string;
  product?: string;
  serial?: string;
}

const HUB_CLASS = "09";

async function readUsbDevice(dir: string): Promise<UsbDevice | undefined> {
  const vendorId = await readAttr(dir, "idVendor");
  const productId = await readAttr(dir, "idProduct");
  if (vendorId === undefined || productId === undefined) return undefined;
  const device: UsbDevice = {
    sysPath: dir,
    busnum: Number(await readAttr(dir, "busnum")) || 0,
    devnum: Number(await readAttr(dir, "devnum")) || 0,
    vendorId: vendorId.toLowerCase(),
    productId: productId.toLowerCase(),
  };
  const manufacturer = await readAttr(dir, "manufacturer");
  const product = await readAttr(dir, "product");
  const serial = await readAttr(dir, "serial");
  if (manufacturer !== undefined) device.manufacturer = manufacturer;
  if (product !== undefined) device.product = product;
  if (serial !== undefined) device.serial = serial;
  return device;
}

/** USB devices on every bus, hubs (including root hubs) left out. */
export async function listUsbDevices(tree: HostTree): Promise<UsbDevice[]> {
  const out: UsbDevice[] = [];
  const dir = tree.sys("bus", "usb", "devices");
  for (const name of await list(dir)) {
    if (name.includes(":")) continue; // interfaces, not devices
    const real = await resolve(path.join(dir, name));
    if (real === undefined) continue;
    if ((await readAttr(real, "bDeviceClass")) === HUB_CLASS) continue;
    const device = await readUsbDevice(real);
    if (device !== undefined) out.push(device);
  }
  return out;
}

/** The USB device a sysfs node (a tty, a video node, an hci) hangs off, walking up the device tree. */
export async function usbAncestor(tree: HostTree, start: string): Promise<UsbDevice | undefined> {
  let dir = start;
  while (tree.insideSys(dir)) {
    const device = await readUsbDevice(dir);
    if (device !== undefined) return device;
    dir = path.dirname(dir);
  }
  return undefined;
}

/** A stable id fragment: vendor, product and serial (or bus position when the device has no serial). */
export function usbKey(usb: UsbDevice): string {
  return `${usb.vendorId}-${usb.productId}-${usb.serial ?? `bus${usb.busnum}-${usb.devnum}`}`.replace(
    /[^a-zA-Z0-9_.:-]/g,
    "_",
  );
}
