import { createLogger, type Device } from "@openiotfog/shared";
import { EventBus } from "../src/monitoring/bus";
import { HardwareEventHandler } from "../src/hardware/handler";
import { HotplugDevices } from "../src/hardware/devices";
import { deriveDeviceId, hardwareEventSchema, type HardwareEventInput } from "../src/hardware/events";
import { udevBlockToEvent } from "../src/hardware/udev";
import { DeviceUsageTracker, type DeviceUser } from "../src/hardware/usage";

const logger = createLogger({ component: "test", silent: true });

const zigbeeAttached: HardwareEventInput = {
  v: 1,
  type: "device.attached",
  source: "test-listener",
  device: {
    class: "zigbee",
    vendorId: "0x10C4",
    productId: "ea60",
    serial: "00124b0012345678",
    path: "/dev/ttyUSB0",
    protocol: "zigbee",
  },
};

function parse(input: unknown) {
  return hardwareEventSchema.parse(input);
}

describe("hardware event schema", () => {
  it("names the field in every problem", () => {
    const bad = hardwareEventSchema.safeParse({
      v: 1,
      type: "device.attached",
      device: { class: "ZigBee", vendorId: "xyz" },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["device.class", "device.vendorId", "device.path"]));
  });

  it("derives the same id for the same stick in another port", () => {
    const a = parse(zigbeeAttached).device;
    const b = parse({ ...zigbeeAttached, device: { ...zigbeeAttached.device, path: "/dev/ttyUSB3" } }).device;
    expect(deriveDeviceId(a)).toBe(deriveDeviceId(b));
    expect(deriveDeviceId(a)).toMatch(/^zigbee-[0-9a-f]{12}$/);
  });
});

describe("HotplugDevices", () => {
  const discovered: Device[] = [{ id: "serial-1", class: "serial", path: "/dev/ttyS1", serial: "S1" }];

  it("adds, removes and suppresses discovered devices until discovery catches up", () => {
    const store = new HotplugDevices();
    const added = store.apply(parse(zigbeeAttached), discovered);
    expect(added).toMatchObject({ kind: "attached", changed: true });
    expect(added.device).toMatchObject({ class: "zigbee", vendorId: "10c4", protocols: ["zigbee"] });
    expect(store.apply(parse(zigbeeAttached), discovered).changed).toBe(false);
    expect(store.merge(discovered).map((d) => d.id)).toEqual(["serial-1", added.device.id]);

    const gone = store.apply(
      parse({ v: 1, type: "device.detached", device: { class: "zigbee", serial: "00124b0012345678" } }),
      discovered,
    );
    expect(gone).toMatchObject({ kind: "detached", changed: true, device: { id: added.device.id } });

    const serialGone = store.apply(
      parse({ v: 1, type: "device.detached", device: { class: "serial", path: "/dev/ttyS1" } }),
      discovered,
    );
    expect(serialGone.device.id).toBe("serial-1");
    expect(store.merge(discovered)).toEqual([]);
    // Discovery stops seeing it and later sees it again: it counts again.
    expect(store.merge([])).toEqual([]);
    expect(store.merge(discovered).map((d) => d.id)).toEqual(["serial-1"]);
  });
});

describe("HardwareEventHandler", () => {
  it("counts and reports bad events without throwing, and applies good ones", async () => {
    const bus = new EventBus({ nodeId: "n1", logger });
    const changes: string[] = [];
    const handler = new HardwareEventHandler({
      logger,
      bus,
      discovered: () => [],
      onChange: (c, devices) => {
        changes.push(`${c.kind}:${devices.length}`);
      },
    });
    await handler.handleFrames([Buffer.from("not json")], "test");
    await handler.handleFrames([Buffer.from("a"), Buffer.from("b"), Buffer.from("c")], "test");
    await handler.handleFrames([Buffer.from(JSON.stringify({ v: 2, type: "device.attached" }))], "test");
    await handler.handleFrames([Buffer.from("x".repeat(70 * 1024))], "test");
    await handler.handleFrames([Buffer.from("hw"), Buffer.from(JSON.stringify(zigbeeAttached))], "test");
    const stats = handler.getStats();
    expect(stats).toMatchObject({
      received: 5,
      accepted: 1,
      rejected: 4,
      rejectedBy: { not_json: 1, frames: 1, invalid: 1, too_large: 1 },
    });
    expect(stats.lastRejected?.reason).toBe("too_large");
    expect(changes).toEqual(["attached:1"]);
    const types = bus.history().map((e) => e.type);
    expect(types.filter((t) => t === "hardware.event.rejected")).toHaveLength(4);
    const invalid = bus.history().find((e) => e.data.reason === "invalid");
    expect(invalid?.message).toContain('field "v"');
    expect(types[types.length - 1]).toBe("device.attached");
  });
});

describe("udev listener parsing", () => {
  const block = (action: string): string[] => [
    `ACTION=${action}`,
    "SUBSYSTEM=tty",
    "DEVNAME=/dev/ttyUSB0",
    "ID_BUS=usb",
    "ID_VENDOR_ID=10c4",
    "ID_MODEL_ID=ea60",
    "ID_VENDOR=ITead",
    "ID_MODEL=Sonoff_Zigbee_3.0_USB_Dongle_Plus",
    "ID_SERIAL_SHORT=c0e1a2",
    "DEVLINKS=/dev/serial/by-path/pci-0:1 /dev/serial/by-id/usb-ITead_Sonoff_Zigbee_c0e1a2-if00-port0",
  ];
  const classify = (usb: { product?: string } | undefined, fallback: string) =>
    usb?.product?.toLowerCase().includes("zigbee") === true
      ? { class: "zigbee", protocols: ["zigbee"] }
      : { class: fallback };

  it("turns add/remove blocks into valid events and ignores virtual ttys", () => {
    const add = udevBlockToEvent(block("add"), classify);
    expect(parse(add)).toMatchObject({
      type: "device.attached",
      source: "udev",
      device: {
        class: "zigbee",
        serial: "c0e1a2",
        stablePath: "/dev/serial/by-id/usb-ITead_Sonoff_Zigbee_c0e1a2-if00-port0",
      },
    });
    expect(parse(udevBlockToEvent(block("remove"), classify)).type).toBe("device.detached");
    expect(udevBlockToEvent(["ACTION=add", "SUBSYSTEM=tty", "DEVNAME=/dev/tty5"], classify)).toBeUndefined();
    expect(udevBlockToEvent(block("change"), classify)).toBeUndefined();
  });
});

describe("DeviceUsageTracker", () => {
  it("marks a deployment degraded when its device goes and restores the mapping when it returns", async () => {
    const bus = new EventBus({ nodeId: "n1", logger });
    const restored: Array<{ id: string; paths: string[] }> = [];
    const users: DeviceUser[] = [
      {
        deploymentId: "d1",
        service: "zigbee2mqtt",
        devices: [{ deviceId: "zb", hostPath: "/dev/ttyUSB0", containerPath: "/dev/ttyZB" }],
      },
      { deploymentId: "d2", service: "web", devices: [] },
    ];
    const tracker = new DeviceUsageTracker(
      {
        list: async () => users,
        restore: async (id, devices) => {
          restored.push({ id, paths: devices.map((d) => d.path) });
        },
      },
      bus,
      logger,
    );
    const stick: Device = { id: "zb", class: "zigbee", path: "/dev/ttyUSB0" };
    await tracker.reconcile([stick]);
    expect(tracker.degradedCount()).toBe(0);
    await tracker.reconcile([]);
    await tracker.reconcile([]);
    expect(tracker.health("d1")?.missingDevices).toEqual(["zb"]);
    expect(bus.history({ types: ["deployment.degraded"] })).toHaveLength(1);
    await tracker.reconcile([{ ...stick, path: "/dev/ttyUSB1" }]);
    expect(tracker.health("d1")).toBeUndefined();
    expect(restored).toEqual([{ id: "d1", paths: ["/dev/ttyUSB1"] }]);
    expect(bus.history({ types: ["deployment.restored"] })[0]?.deploymentId).toBe("d1");
  });
});
