import type { Device } from "@openiotfog/shared";
import type { DeviceRule } from "../config";
import { matchDeviceRule } from "./device-rules";
import type { UsbDevice } from "./usb";

/** What one fingerprinter found, and which USB devices it accounted for (so a stick is listed once). */
export interface DeviceFinding {
  devices: Device[];
  usbConsumed: Set<string>;
}

export function usbFields(usb: UsbDevice | undefined): Partial<Device> {
  if (usb === undefined) return {};
  const out: Partial<Device> = { vendorId: usb.vendorId, productId: usb.productId };
  if (usb.manufacturer !== undefined) out.vendor = usb.manufacturer;
  if (usb.product !== undefined) out.product = usb.product;
  if (usb.serial !== undefined) out.serial = usb.serial;
  return out;
}

export function classify(
  usb: UsbDevice | undefined,
  rules: readonly DeviceRule[],
  fallback: string,
): Pick<Device, "class" | "protocols"> {
  const rule = usb === undefined ? undefined : matchDeviceRule(usb, rules);
  if (rule === undefined) return { class: fallback };
  return rule.protocols.length > 0 ? { class: rule.class, protocols: rule.protocols } : { class: rule.class };
}
