import { DEFAULT_LIMITS, type Device } from "@openiotfog/shared";
import { describesDevice, toCapabilityDevice, type HardwareEvent } from "./events";

export interface DeviceChange {
  kind: "attached" | "detached";
  device: Device;
  source: string;
  /** False when the event repeated what the agent already knew (listeners may resend). */
  changed: boolean;
  /** Set when an attach event for a new device was refused: the table of event-only devices is full. */
  refused?: true;
}

/**
 * The devices hardware events told us about, layered over what discovery found. Attach events add (or refresh)
 * a device; detach events remove one, including a discovered one, until discovery stops seeing it or a new
 * attach event brings it back. Pure: no I/O, the caller passes discovery's latest list. Devices known only
 * from events are bounded (`maxDevices`): a listener cannot grow the node's device list without end.
 */
export class HotplugDevices {
  private readonly attached = new Map<string, { device: Device; source: string }>();

  constructor(readonly maxDevices: number = DEFAULT_LIMITS.hotplugDevices) {}
  /** Discovered devices a listener said are gone (discovery may lag behind a listener by an interval). */
  private readonly suppressed = new Set<string>();

  apply(event: HardwareEvent, discovered: readonly Device[]): DeviceChange {
    const current = this.merge(discovered);
    if (event.type === "device.attached") {
      let device = toCapabilityDevice(event.device);
      // A listener that describes a device discovery already knows keeps discovery's id, so leases still match.
      const known =
        current.find((d) => sameDevice(d, device)) ?? discovered.find((d) => sameDevice(d, device));
      if (known !== undefined && event.device.id === undefined) device = { ...device, id: known.id };
      const before = current.find((d) => d.id === device.id);
      if (!this.attached.has(device.id) && this.attached.size >= this.maxDevices) {
        return { kind: "attached", device, source: event.source, changed: false, refused: true };
      }
      this.attached.set(device.id, { device, source: event.source });
      this.suppressed.delete(device.id);
      return {
        kind: "attached",
        device,
        source: event.source,
        changed: before === undefined || JSON.stringify(before) !== JSON.stringify(device),
      };
    }
    const gone = current.find((d) => describesDevice(event.device, d));
    if (gone === undefined) {
      return {
        kind: "detached",
        device: toCapabilityDevice(event.device),
        source: event.source,
        changed: false,
      };
    }
    this.attached.delete(gone.id);
    if (discovered.some((d) => d.id === gone.id)) this.suppressed.add(gone.id);
    return { kind: "detached", device: gone, source: event.source, changed: true };
  }

  /** Discovery's devices with the events applied. Forgets suppressions discovery has caught up with. */
  merge(discovered: readonly Device[]): Device[] {
    for (const id of this.suppressed) if (!discovered.some((d) => d.id === id)) this.suppressed.delete(id);
    const out = discovered.filter((d) => !this.suppressed.has(d.id) && !this.attached.has(d.id));
    for (const { device } of this.attached.values()) out.push(device);
    return out;
  }

  /** Devices that exist only because a listener said so, with who said it. */
  fromEvents(): Array<{ device: Device; source: string }> {
    return [...this.attached.values()];
  }
}

function sameDevice(a: Device, b: Device): boolean {
  if (a.class !== b.class) return false;
  if (a.serial !== undefined && b.serial !== undefined) return a.serial === b.serial;
  if (a.stablePath !== undefined && b.stablePath !== undefined) return a.stablePath === b.stablePath;
  return a.path === b.path;
}
