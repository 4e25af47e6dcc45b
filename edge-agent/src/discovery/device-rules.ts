import { compileLinearRegExp, normaliseHexId, type LinearRegExp } from "@openiotfog/shared";
import type { DeviceRule } from "../config";

/**
 * Well-known ZigBee coordinators by USB id. Several sticks sit on generic USB-UART bridges (Silicon Labs
 * CP210x, WCH CH9102, FTDI) shared with plain serial adapters; for those the manufacturer/product strings must
 * also match, so a generic CP2102 cable stays class `serial`. Operators add their own rules in the config
 * (discovery.deviceRules), checked before these.
 */
export const BUILTIN_DEVICE_RULES: DeviceRule[] = [
  { vendorId: "0451", productId: "16a8", class: "zigbee", protocols: ["zigbee"], name: "TI CC2531" },
  {
    vendorId: "0451",
    productId: "bef3",
    class: "zigbee",
    protocols: ["zigbee"],
    name: "TI CC1352/CC2652 LaunchPad (XDS110)",
  },
  {
    vendorId: "1cf1",
    productId: "0030",
    class: "zigbee",
    protocols: ["zigbee"],
    name: "dresden elektronik ConBee II",
  },
  {
    vendorId: "1cf1",
    productId: "0020",
    class: "zigbee",
    protocols: ["zigbee"],
    name: "dresden elektronik ConBee",
  },
  {
    vendorId: "0403",
    productId: "6015",
    match: "conbee|raspbee|dresden",
    class: "zigbee",
    protocols: ["zigbee"],
    name: "dresden elektronik ConBee (FTDI)",
  },
  {
    vendorId: "10c4",
    productId: "ea60",
    match: "zigbee|sonoff|slzb|cc26[0-9]{2}|cc13[0-9]{2}|efr32|ezsp|skyconnect|zbdongle|tube",
    class: "zigbee",
    protocols: ["zigbee"],
    name: "CP210x-based ZigBee stick (e.g. Sonoff ZBDongle-P, CC2652)",
  },
  {
    vendorId: "10c4",
    productId: "8a2a",
    class: "zigbee",
    protocols: ["zigbee", "zwave"],
    name: "Silicon Labs HubZ ZigBee/Z-Wave",
  },
  {
    vendorId: "1a86",
    productId: "55d4",
    match: "zigbee|sonoff|zbdongle|slzb",
    class: "zigbee",
    protocols: ["zigbee"],
    name: "CH9102-based ZigBee stick (e.g. Sonoff ZBDongle-E)",
  },
];

export interface UsbIdentity {
  vendorId: string;
  productId: string;
  manufacturer?: string;
  product?: string;
}

/**
 * Compiled `match` patterns, one per pattern text. The strings they run on are whatever a plugged-in device
 * (or a hardware event) reports, so they use the linear-time engine; the patterns come from the config and the
 * built-in list, so this table stays as small as those.
 */
const compiled = new Map<string, LinearRegExp>();
function matchPattern(source: string): LinearRegExp {
  let re = compiled.get(source);
  if (re === undefined) {
    re = compileLinearRegExp(source, { ignoreCase: true });
    compiled.set(source, re);
  }
  return re;
}

/** The first rule (operator rules first) matching a USB device, if any. */
export function matchDeviceRule(usb: UsbIdentity, rules: readonly DeviceRule[]): DeviceRule | undefined {
  const text = `${usb.manufacturer ?? ""} ${usb.product ?? ""}`;
  return rules.find(
    (r) =>
      normaliseHexId(r.vendorId) === normaliseHexId(usb.vendorId) &&
      (r.productId === undefined || normaliseHexId(r.productId) === normaliseHexId(usb.productId)) &&
      (r.match === undefined || matchPattern(r.match).test(text)),
  );
}
