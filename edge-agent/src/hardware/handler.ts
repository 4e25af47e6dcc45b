import { describeZodError, errorMessage, type Device, type Logger } from "@openiotfog/shared";
import type { EventBus } from "../monitoring/bus";
import { HotplugDevices, type DeviceChange } from "./devices";
import { hardwareEventSchema, type HardwareEvent } from "./events";

/** Largest event JSON accepted; a device description is a few hundred bytes. */
export const MAX_HARDWARE_EVENT_BYTES = 64 * 1024;

/** Rejections that each raise a monitoring event per minute; the rest are only counted. */
const REJECTED_EVENTS_PER_MINUTE = 20;

export type RejectReason = "frames" | "too_large" | "not_json" | "invalid" | "limit";

export interface HardwareStats {
  received: number;
  accepted: number;
  rejected: number;
  rejectedBy: Record<RejectReason, number>;
  lastRejected?: { time: string; reason: RejectReason; problem: string };
}

export interface HardwareEventHandlerOptions {
  logger: Logger;
  bus: EventBus;
  /** What discovery currently sees on the node (events are layered over it). */
  discovered: () => readonly Device[];
  /**
   * Called after every change with the node's device list; the agent republishes its capabilities from here
   * (this is what puts a new ZigBee stick on MQTT within a second).
   */
  onChange: (change: DeviceChange, devices: Device[]) => void | Promise<void>;
  /** Devices known only from events; default DEFAULT_LIMITS.hotplugDevices. */
  maxDevices?: number;
}

/**
 * Validates hardware events from any source (the ZeroMQ endpoint, the udev listener), applies them to the
 * node's device list and raises monitoring events. A bad event is logged and counted, never fatal.
 */
export class HardwareEventHandler {
  readonly devices: HotplugDevices;
  private readonly stats: HardwareStats = {
    received: 0,
    accepted: 0,
    rejected: 0,
    rejectedBy: { frames: 0, too_large: 0, not_json: 0, invalid: 0, limit: 0 },
  };
  private windowStart = 0;
  private windowCount = 0;
  private suppressed = 0;

  constructor(private readonly opts: HardwareEventHandlerOptions) {
    this.devices = new HotplugDevices(opts.maxDevices);
  }

  /** A ZeroMQ message: [event JSON] or [topic, event JSON]. */
  async handleFrames(frames: Buffer[], from: string): Promise<DeviceChange | undefined> {
    this.stats.received += 1;
    if (frames.length < 1 || frames.length > 2) {
      return this.reject(
        "frames",
        `expected 1 or 2 frames ([topic,] event JSON), got ${frames.length}`,
        from,
      );
    }
    const body = frames[frames.length - 1] ?? Buffer.alloc(0);
    if (body.length > MAX_HARDWARE_EVENT_BYTES) {
      return this.reject(
        "too_large",
        `event is ${body.length} bytes, at most ${MAX_HARDWARE_EVENT_BYTES}`,
        from,
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString("utf8"));
    } catch (e) {
      return this.reject("not_json", `event is not valid JSON: ${errorMessage(e)}`, from);
    }
    return this.handleUnknown(raw, from);
  }

  /** An event already decoded from JSON (or built by an in-process listener); validated here. */
  async handleUnknown(raw: unknown, from: string): Promise<DeviceChange | undefined> {
    const parsed = hardwareEventSchema.safeParse(raw);
    if (!parsed.success) {
      return this.reject("invalid", `hardware event: ${describeZodError(parsed.error).join("; ")}`, from);
    }
    return this.apply(parsed.data, from);
  }

  private async apply(event: HardwareEvent, from: string): Promise<DeviceChange | undefined> {
    const change = this.devices.apply(event, this.opts.discovered());
    if (change.refused === true) {
      return this.reject(
        "limit",
        `${this.devices.maxDevices} devices known from hardware events already; device ${change.device.id} refused`,
        from,
      );
    }
    this.stats.accepted += 1;
    if (!change.changed) {
      this.opts.logger.debug("hardware event changed nothing", {
        type: event.type,
        deviceId: change.device.id,
      });
      return change;
    }
    const devices = this.currentDevices();
    try {
      await this.opts.onChange(change, devices);
    } catch (e) {
      this.opts.logger.warn("could not apply a device change", {
        deviceId: change.device.id,
        error: errorMessage(e),
      });
    }
    const d = change.device;
    const what = [d.class, d.product ?? d.vendor, d.serial === undefined ? undefined : `serial ${d.serial}`]
      .filter((x) => x !== undefined)
      .join(" ");
    this.opts.bus.emit({
      type: change.kind === "attached" ? "device.attached" : "device.detached",
      message: `device ${change.kind}: ${what} at ${d.path} (reported by ${change.source})`,
      deviceId: d.id,
      data: {
        device: d,
        source: change.source,
        ...(event.time === undefined ? {} : { reportedAt: event.time }),
      },
    });
    return change;
  }

  /** The node's devices: discovery with hot-plug events applied. */
  currentDevices(): Device[] {
    return this.devices.merge(this.opts.discovered());
  }

  private reject(reason: RejectReason, problem: string, from: string): undefined {
    this.stats.rejected += 1;
    this.stats.rejectedBy[reason] += 1;
    this.stats.lastRejected = { time: new Date().toISOString(), reason, problem };
    // A broken listener in a loop must not flood the log and the events topic: beyond the budget, only count.
    const now = Date.now();
    if (now - this.windowStart > 60_000) {
      if (this.suppressed > 0) {
        this.opts.logger.warn("hardware events rejected without an event each", { count: this.suppressed });
      }
      this.windowStart = now;
      this.windowCount = 0;
      this.suppressed = 0;
    }
    this.windowCount += 1;
    if (this.windowCount > REJECTED_EVENTS_PER_MINUTE) {
      this.suppressed += 1;
      return undefined;
    }
    this.opts.bus.emit({
      type: "hardware.event.rejected",
      message: `rejected a hardware event from ${from}: ${problem}`,
      data: { reason, problem, from, rejected: this.stats.rejected },
    });
    return undefined;
  }

  getStats(): HardwareStats {
    return structuredClone(this.stats);
  }
}
