/**
 * Live device discovery: a stick unplugged and plugged back (simulated by editing a copy of a fixture sysfs
 * tree under a running agent) shows up on MQTT as a new capability document and device events.
 */
import { cpSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Agent } from "@openiotfog/edge-agent";
import { requireDocker, requireMqtt } from "../helpers/services";
import {
  DiscoveryWatcher,
  FIXTURES,
  startInProcess,
  testAgentSetup,
  type TestAgentSetup,
} from "./agent-helpers";

let setup: TestAgentSetup;
let agent: Agent;
let watcher: DiscoveryWatcher;
let tree: string;

const SONOFF = "usb-ITead_Sonoff_Zigbee_3.0_USB_Dongle_Plus_9a3c1d2e4f5b6a7c-if00-port0";

beforeAll(async () => {
  await requireMqtt();
  await requireDocker();
  tree = mkdtempSync(path.join(os.tmpdir(), "iotfog-hotplug-"));
  cpSync(path.join(FIXTURES, "zigbee-stick"), tree, { recursive: true, verbatimSymlinks: true });
  setup = await testAgentSetup({
    discovery: {
      sysRoot: path.join(tree, "sys"),
      devRoot: path.join(tree, "dev"),
      deviceScanIntervalMs: 200,
    },
  });
  watcher = await DiscoveryWatcher.start(setup.prefix);
  agent = await startInProcess(setup.config);
});

afterAll(async () => {
  await agent?.lifecycle.stop();
  await watcher?.stop();
  await setup?.cleanup();
  rmSync(tree, { recursive: true, force: true });
});

it("republishes capabilities and sends device events when a ZigBee stick is unplugged and plugged back", async () => {
  await watcher.waitFor("capabilities", (m) => m.payload.capabilities.devices.some((d) => d.id === SONOFF));

  const unpluggedAt = Date.now();
  // What the kernel does on unplug: the USB device, its tty class entry and the by-id link disappear.
  renameSync(path.join(tree, "sys/bus/usb/devices/1-1.1"), path.join(tree, "usb.away"));
  renameSync(path.join(tree, "sys/class/tty/ttyUSB0"), path.join(tree, "ttyUSB0.away"));
  renameSync(path.join(tree, "dev/serial/by-id", SONOFF), path.join(tree, "by-id.away"));
  const removed = await watcher.waitFor("events", (m) => m.payload.type === "device.removed", {
    since: unpluggedAt,
  });
  expect(removed.payload.data).toMatchObject({ device: { id: SONOFF, class: "zigbee" } });
  const without = await watcher.waitFor(
    "capabilities",
    (m) => !m.payload.capabilities.devices.some((d) => d.id === SONOFF),
    { since: unpluggedAt },
  );
  expect(without.payload.capabilities.devices.filter((d) => d.class === "zigbee")).toHaveLength(1);
  expect(agent.capabilities.current().devices.some((d) => d.id === SONOFF)).toBe(false);

  const pluggedAt = Date.now();
  renameSync(path.join(tree, "usb.away"), path.join(tree, "sys/bus/usb/devices/1-1.1"));
  renameSync(path.join(tree, "ttyUSB0.away"), path.join(tree, "sys/class/tty/ttyUSB0"));
  renameSync(path.join(tree, "by-id.away"), path.join(tree, "dev/serial/by-id", SONOFF));
  await watcher.waitFor("events", (m) => m.payload.type === "device.added", { since: pluggedAt });
  await watcher.waitFor("capabilities", (m) => m.payload.capabilities.devices.some((d) => d.id === SONOFF), {
    since: pluggedAt,
  });
});
