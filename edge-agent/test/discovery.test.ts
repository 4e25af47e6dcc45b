import path from "node:path";
import { HostTree, discoverDevices, matchDeviceRule, BUILTIN_DEVICE_RULES } from "@openiotfog/edge-agent";

const fixtures = path.resolve(__dirname, "../../test/fixtures/sysfs");
const tree = (name: string): HostTree =>
  new HostTree(path.join(fixtures, name, "sys"), path.join(fixtures, name, "dev"));

describe("device discovery over fixture sysfs trees", () => {
  it("finds a Sonoff CC2652 stick and a ConBee II as zigbee, with stable by-id paths", async () => {
    const devices = await discoverDevices(tree("zigbee-stick"));
    const zigbee = devices.filter((d) => d.class === "zigbee");
    expect(zigbee.map((d) => d.path).sort()).toEqual(["/dev/ttyACM0", "/dev/ttyUSB0"]);
    const sonoff = zigbee.find((d) => d.vendorId === "10c4");
    expect(sonoff).toMatchObject({
      id: "usb-ITead_Sonoff_Zigbee_3.0_USB_Dongle_Plus_9a3c1d2e4f5b6a7c-if00-port0",
      productId: "ea60",
      vendor: "ITead",
      product: "Sonoff Zigbee 3.0 USB Dongle Plus",
      serial: "9a3c1d2e4f5b6a7c",
      path: "/dev/ttyUSB0",
      stablePath: "/dev/serial/by-id/usb-ITead_Sonoff_Zigbee_3.0_USB_Dongle_Plus_9a3c1d2e4f5b6a7c-if00-port0",
      protocols: ["zigbee"],
    });
    expect(zigbee.find((d) => d.vendorId === "1cf1")).toMatchObject({
      product: "ConBee II",
      serial: "DE2134567",
    });
  });

  it("finds the Bluetooth adapter, the camera's capture node only, and the GPIO controller with its label", async () => {
    const devices = await discoverDevices(tree("zigbee-stick"));
    expect(devices.filter((d) => d.class === "bluetooth")).toEqual([
      expect.objectContaining({
        vendorId: "0a12",
        path: "/sys/class/bluetooth/hci0",
        protocols: ["bluetooth"],
      }),
    ]);
    expect(devices.filter((d) => d.class === "camera")).toEqual([
      expect.objectContaining({ path: "/dev/video0", vendor: "Logitech", serial: "200901010001" }),
    ]);
    expect(devices.filter((d) => d.class === "gpio")).toEqual([
      { id: "gpio-gpiochip0", class: "gpio", path: "/dev/gpiochip0", product: "pinctrl-bcm2711" },
    ]);
    // Hubs are infrastructure, and every USB device is listed once (as what it is, not also as `usb`).
    expect(devices.filter((d) => d.class === "usb")).toEqual([]);
    expect(devices).toHaveLength(5);
  });

  it("keeps a plain FTDI cable and a generic CP2102 cable as serial, the keyboard as usb, and skips unlinked UARTs", async () => {
    const devices = await discoverDevices(tree("serial-adapter"));
    expect(devices.map((d) => [d.class, d.path]).sort()).toEqual([
      ["serial", "/dev/ttyUSB0"],
      ["serial", "/dev/ttyUSB1"],
      ["usb", "/dev/bus/usb/001/005"],
    ]);
    const cp2102 = devices.find((d) => d.path === "/dev/ttyUSB1");
    expect(cp2102).toMatchObject({
      vendorId: "10c4",
      productId: "ea60",
      stablePath: expect.stringContaining("CP2102"),
    });
    expect(cp2102?.protocols).toBeUndefined();
  });

  it("an operator rule turns the generic CP2102 cable into a modbus-rtu device without a release", async () => {
    const devices = await discoverDevices(tree("serial-adapter"), [
      { vendorId: "10c4", productId: "ea60", match: "CP2102", class: "rs485", protocols: ["modbus-rtu"] },
    ]);
    expect(devices.find((d) => d.path === "/dev/ttyUSB1")).toMatchObject({
      class: "rs485",
      protocols: ["modbus-rtu"],
    });
  });

  it("finds nothing on a node without devices, and nothing when the roots do not exist", async () => {
    await expect(discoverDevices(tree("no-devices"))).resolves.toEqual([]);
    await expect(discoverDevices(tree("does-not-exist"))).resolves.toEqual([]);
  });

  it("built-in rules need the product text for generic UART bridges", () => {
    const sonoff = {
      vendorId: "10c4",
      productId: "ea60",
      manufacturer: "ITead",
      product: "Sonoff Zigbee 3.0 USB Dongle Plus",
    };
    const cable = {
      vendorId: "10c4",
      productId: "ea60",
      manufacturer: "Silicon Labs",
      product: "CP2102 USB to UART Bridge Controller",
    };
    expect(matchDeviceRule(sonoff, BUILTIN_DEVICE_RULES)?.class).toBe("zigbee");
    expect(matchDeviceRule(cable, BUILTIN_DEVICE_RULES)).toBeUndefined();
    expect(matchDeviceRule({ vendorId: "0x0451", productId: "16A8" }, BUILTIN_DEVICE_RULES)?.name).toBe(
      "TI CC2531",
    );
  });
});
