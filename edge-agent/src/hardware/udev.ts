import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { errorMessage, type Component, type Logger } from "@openiotfog/shared";
import { HARDWARE_EVENT_VERSION, type HardwareEventInput } from "./events";
import type { HardwareEventHandler } from "./handler";

/** Says which class (and protocols) a USB device has, e.g. a CC2652 stick → zigbee. */
export type UsbClassifier = (
  usb: { vendorId: string; productId: string; manufacturer?: string; product?: string } | undefined,
  fallback: string,
) => { class: string; protocols?: string[] };

/** Subsystems the built-in listener watches, and the class a device in each has unless the classifier knows better. */
const SUBSYSTEM_CLASS: Record<string, string> = {
  tty: "serial",
  video4linux: "camera",
  bluetooth: "bluetooth",
};

/**
 * One `udevadm monitor --udev --property` block (KEY=value lines) as a hardware event, or undefined when it is
 * not a device we care about (no /dev node, an action other than add/remove, a virtual tty).
 */
export function udevBlockToEvent(
  lines: readonly string[],
  classify: UsbClassifier,
): HardwareEventInput | undefined {
  const props = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf("=");
    if (eq > 0) props.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const action = props.get("ACTION");
  const devname = props.get("DEVNAME");
  const subsystem = props.get("SUBSYSTEM") ?? "";
  const fallback = SUBSYSTEM_CLASS[subsystem];
  if ((action !== "add" && action !== "remove") || devname === undefined || fallback === undefined)
    return undefined;
  // Only real hardware: virtual consoles and ptys have no bus.
  if (props.get("ID_BUS") === undefined && props.get("ID_VENDOR_ID") === undefined) return undefined;
  const vendorId = props.get("ID_VENDOR_ID");
  const productId = props.get("ID_MODEL_ID");
  const vendor = props.get("ID_VENDOR_FROM_DATABASE") ?? props.get("ID_VENDOR");
  const model = props.get("ID_MODEL_FROM_DATABASE") ?? props.get("ID_MODEL");
  const usb =
    vendorId === undefined || productId === undefined
      ? undefined
      : {
          vendorId,
          productId,
          ...(vendor === undefined ? {} : { manufacturer: vendor }),
          ...(model === undefined ? {} : { product: model }),
        };
  const kind = classify(usb, fallback);
  const byId = (props.get("DEVLINKS") ?? "").split(" ").find((l) => l.startsWith("/dev/serial/by-id/"));
  const device: HardwareEventInput["device"] = {
    class: kind.class,
    path: devname.startsWith("/") ? devname : `/dev/${devname}`,
  };
  if (vendorId !== undefined) device.vendorId = vendorId;
  if (productId !== undefined) device.productId = productId;
  if (vendor !== undefined) device.vendor = vendor;
  if (model !== undefined) device.product = model;
  const serial = props.get("ID_SERIAL_SHORT");
  if (serial !== undefined && serial !== "") device.serial = serial;
  if (byId !== undefined) device.stablePath = byId;
  if (kind.protocols !== undefined && kind.protocols.length > 0) device.protocols = kind.protocols;
  return {
    v: HARDWARE_EVENT_VERSION,
    type: action === "add" ? "device.attached" : "device.detached",
    source: "udev",
    device,
  };
}

/** Is `udevadm` on this machine? (The listener is optional: containers and minimal images lack it.) */
export function hasUdevadm(): boolean {
  const r = spawnSync("udevadm", ["--version"], { stdio: "ignore", timeout: 2000 });
  return r.status === 0;
}

/**
 * The built-in udev listener: runs `udevadm monitor` and feeds add/remove of serial, video and Bluetooth
 * devices into the same handler as third-party listeners. If udevadm exits, it is restarted after a pause.
 */
export class UdevListener implements Component {
  readonly name = "udev-listener";
  private child: ChildProcess | undefined;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly handler: HardwareEventHandler,
    private readonly classify: UsbClassifier,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    this.spawn();
  }

  private spawn(): void {
    const args = [
      "monitor",
      "--udev",
      "--property",
      ...Object.keys(SUBSYSTEM_CLASS).map((s) => `--subsystem-match=${s}`),
    ];
    const child = spawn("udevadm", args, { stdio: ["ignore", "pipe", "ignore"] });
    this.child = child;
    let block: string[] = [];
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (line.trim() !== "") {
        block.push(line);
        return;
      }
      const event = udevBlockToEvent(block, this.classify);
      block = [];
      if (event !== undefined) {
        this.handler.handleUnknown(event, "udev").catch((e: unknown) => {
          this.logger.warn("udev event handling failed", { error: errorMessage(e) });
        });
      }
    });
    child.once("error", (e) => this.logger.warn("udevadm monitor failed", { error: errorMessage(e) }));
    child.once("exit", (code) => {
      lines.close();
      if (this.stopped) return;
      this.logger.warn("udevadm monitor exited; restarting in 5 s", { code });
      this.restartTimer = setTimeout(() => this.spawn(), 5000);
    });
    this.logger.info("udev listener started", { subsystems: Object.keys(SUBSYSTEM_CLASS) });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }
}
