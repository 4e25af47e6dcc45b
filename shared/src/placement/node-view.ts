import type { Device, NodeCapabilities } from "../capabilities/model";
import type { AttributeSource } from "../constraints/attributes";
import type { Allocation, NodeState } from "./types";

/** Which replica a decision is for: its own allocation (a reservation made for it) never counts against it. */
export interface RequestIdentity {
  deploymentId: string | undefined;
  service: string;
  replica: number;
}

export function isSameService(a: Allocation, who: RequestIdentity): boolean {
  return a.service === who.service && a.deploymentId === who.deploymentId;
}

export function isOwnAllocation(a: Allocation, who: RequestIdentity): boolean {
  return isSameService(a, who) && (a.replica ?? 0) === who.replica;
}

/** Who holds a device through our leases. */
export interface DeviceLeases {
  exclusive: string[];
  shared: string[];
}

function holderName(a: Allocation): string {
  return a.deploymentId === undefined ? a.service : `${a.service} (${a.deploymentId})`;
}

/**
 * A node as one placement decision sees it. Derived figures (resource accounting, leases, replica counts) are
 * computed on first use, because most nodes are rejected by cheap filters before anyone asks.
 *
 * Resource accounting (why two terms for memory): `reserved` replicas have not started, so the measured free
 * memory does not reflect them yet; `placed` ones are running and already inside the measurement, but their
 * declared limits still commit memory. Available memory is therefore
 * min(free − reserved, total − (placed + reserved)). CPU has no live measure: cores − (placed + reserved).
 * Disk: free − reserved (running replicas already occupy their disk).
 */
export class NodeView implements AttributeSource {
  readonly caps: NodeCapabilities;
  readonly id: string;
  private accounting: { cpus: number; memoryBytes: number; diskBytes: number } | undefined;
  private leases: Map<string, DeviceLeases> | undefined;
  private sameServiceReplicas: number | undefined;
  private softwareIndex: Map<string, string> | undefined;
  private classes: { all: string[]; free: string[] } | undefined;

  constructor(
    readonly state: NodeState,
    readonly who: RequestIdentity,
  ) {
    this.caps = state.capabilities;
    this.id = state.capabilities.nodeId;
  }

  private account(): { cpus: number; memoryBytes: number; diskBytes: number } {
    if (this.accounting !== undefined) return this.accounting;
    let cpuCommitted = 0;
    let memCommitted = 0;
    let memReserved = 0;
    let diskReserved = 0;
    for (const a of this.state.allocations) {
      if (isOwnAllocation(a, this.who)) continue;
      const cpus = a.resources.cpus ?? 0;
      const mem = a.resources.memoryBytes ?? 0;
      cpuCommitted += cpus;
      memCommitted += mem;
      if (a.state === "reserved") {
        memReserved += mem;
        diskReserved += a.resources.diskBytes ?? 0;
      }
    }
    const r = this.caps.resources;
    this.accounting = {
      cpus: Math.max(0, r.cpu.cores - cpuCommitted),
      memoryBytes: Math.max(
        0,
        Math.min(r.memory.freeBytes - memReserved, r.memory.totalBytes - memCommitted),
      ),
      diskBytes: Math.max(0, r.disk.freeBytes - diskReserved),
    };
    return this.accounting;
  }

  get freeCpus(): number {
    return this.account().cpus;
  }
  get freeMemoryBytes(): number {
    return this.account().memoryBytes;
  }
  get freeDiskBytes(): number {
    return this.account().diskBytes;
  }

  /** Replicas of the requesting service already on this node (placed or reserved), excluding the request's own. */
  get replicasOfService(): number {
    if (this.sameServiceReplicas === undefined) {
      let n = 0;
      for (const a of this.state.allocations)
        if (isSameService(a, this.who) && !isOwnAllocation(a, this.who)) n++;
      this.sameServiceReplicas = n;
    }
    return this.sameServiceReplicas;
  }

  /** Lease holders per device id (the request's own allocation excluded). */
  leasesOf(deviceId: string): DeviceLeases | undefined {
    if (this.leases === undefined) {
      this.leases = new Map();
      for (const a of this.state.allocations) {
        if (isOwnAllocation(a, this.who)) continue;
        for (const d of a.devices) {
          let entry = this.leases.get(d.id);
          if (entry === undefined) {
            entry = { exclusive: [], shared: [] };
            this.leases.set(d.id, entry);
          }
          (d.exclusive ? entry.exclusive : entry.shared).push(holderName(a));
        }
      }
    }
    return this.leases.get(deviceId);
  }

  /**
   * Why a device cannot be used by this request, or undefined when it can. An exclusive request needs the device
   * untouched; a shared one tolerates other shared leases but not an exclusive one. `inUseBy` (seen by the agent
   * outside our leases) blocks both, unless it names the requesting service itself or a shared lease explains it.
   */
  deviceBlocker(device: Device, exclusive: boolean): string | undefined {
    const leases = this.leasesOf(device.id);
    if (leases !== undefined && leases.exclusive.length > 0)
      return `in use by ${leases.exclusive.join(", ")}`;
    if (exclusive && leases !== undefined && leases.shared.length > 0)
      return `shared by ${leases.shared.join(", ")}`;
    const user = device.inUseBy;
    if (user !== undefined && user !== "" && user !== this.who.service) {
      const explainedByShare = !exclusive && leases !== undefined && leases.shared.length > 0;
      if (!explainedByShare) return `in use by ${user}`;
    }
    return undefined;
  }

  private deviceClassSets(): { all: string[]; free: string[] } {
    if (this.classes === undefined) {
      const all = new Set<string>();
      const free = new Set<string>();
      for (const d of this.caps.devices) {
        all.add(d.class);
        if (this.deviceBlocker(d, true) === undefined) free.add(d.class);
      }
      this.classes = { all: [...all], free: [...free] };
    }
    return this.classes;
  }

  get deviceClasses(): readonly string[] {
    return this.deviceClassSets().all;
  }
  get freeDeviceClasses(): readonly string[] {
    return this.deviceClassSets().free;
  }

  get softwareNames(): readonly string[] {
    return this.caps.software.map((s) => s.name);
  }

  softwareVersion(name: string): string | undefined {
    if (this.caps.software.length <= 4) return this.caps.software.find((s) => s.name === name)?.version;
    this.softwareIndex ??= new Map(this.caps.software.map((s) => [s.name, s.version]));
    return this.softwareIndex.get(name);
  }
}
