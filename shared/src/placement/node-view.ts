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

function holderName(a: Allocation): string {
  return a.deploymentId === undefined ? a.service : `${a.service} (${a.deploymentId})`;
}

/**
 * A node as one placement decision sees it. Derived figures come from one scan of the node's allocations, done
 * on first use (most nodes are rejected by label checks first) and kept in plain number fields: on a fleet of
 * 10,000 nodes, every object or map built per node and decision shows in the figures.
 *
 * Resource accounting (why two terms for memory): `reserved` replicas have not started, so the measured free
 * memory does not reflect them yet; `placed` ones are running and already inside the measurement, but their
 * declared limits still commit memory. Available memory is therefore
 * min(free − reserved, total − (placed + reserved)). CPU has no live measure: cores − (placed + reserved).
 * Disk: free − reserved (running replicas already occupy their disk). The request's own allocation is left out.
 */
export class NodeView implements AttributeSource {
  state!: NodeState;
  caps!: NodeCapabilities;
  id!: string;
  private scanned = false;
  private cpuCommitted = 0;
  private memCommitted = 0;
  private memReserved = 0;
  private diskReserved = 0;
  private sameServiceCount = 0;
  private own: Allocation | undefined;
  private freeClasses: string[] | undefined;

  constructor(
    state: NodeState,
    readonly who: RequestIdentity,
  ) {
    this.reset(state);
  }

  /**
   * Points the view at another node. The feasibility pass walks the whole fleet through one view, so a
   * decision over 10,000 nodes does not allocate 10,000 objects; only feasible nodes get views of their own.
   */
  reset(state: NodeState): this {
    this.state = state;
    this.caps = state.capabilities;
    this.id = state.capabilities.nodeId;
    this.scanned = false;
    this.freeClasses = undefined;
    return this;
  }

  private scan(): void {
    if (this.scanned) return;
    this.scanned = true;
    let cpu = 0;
    let mem = 0;
    let memReserved = 0;
    let diskReserved = 0;
    let same = 0;
    let own: Allocation | undefined;
    const { service, deploymentId, replica } = this.who;
    for (const a of this.state.allocations) {
      if (a.service === service && a.deploymentId === deploymentId) {
        if ((a.replica ?? 0) === replica) {
          own = a;
          continue;
        }
        same++;
      }
      const m = a.resources.memoryBytes ?? 0;
      cpu += a.resources.cpus ?? 0;
      mem += m;
      if (a.state === "reserved") {
        memReserved += m;
        diskReserved += a.resources.diskBytes ?? 0;
      }
    }
    this.cpuCommitted = cpu;
    this.memCommitted = mem;
    this.memReserved = memReserved;
    this.diskReserved = diskReserved;
    this.sameServiceCount = same;
    this.own = own;
  }

  get freeCpus(): number {
    this.scan();
    return Math.max(0, this.caps.resources.cpu.cores - this.cpuCommitted);
  }

  get freeMemoryBytes(): number {
    this.scan();
    const m = this.caps.resources.memory;
    return Math.max(0, Math.min(m.freeBytes - this.memReserved, m.totalBytes - this.memCommitted));
  }

  get freeDiskBytes(): number {
    this.scan();
    return Math.max(0, this.caps.resources.disk.freeBytes - this.diskReserved);
  }

  /** Replicas of the requesting service already on this node (placed or reserved), excluding the request's own. */
  get replicasOfService(): number {
    if (this.state.allocations.length === 0) return 0;
    if (this.scanned) return this.sameServiceCount;
    // Only the identity fields: asked for every node with allocations, most of which filters then reject.
    const { service, deploymentId, replica } = this.who;
    let same = 0;
    for (const a of this.state.allocations) {
      if (a.service === service && a.deploymentId === deploymentId && (a.replica ?? 0) !== replica) same++;
    }
    return same;
  }

  /**
   * Why a device cannot be used by this request, or undefined when it can. An exclusive request needs the device
   * untouched; a shared one tolerates other shared leases but not an exclusive one. `inUseBy` (seen by the agent
   * outside our leases) blocks both, unless it names the requesting service itself or a shared lease explains it.
   */
  deviceBlocker(device: Device, exclusive: boolean): string | undefined {
    this.scan();
    const exclusiveHolders: string[] = [];
    const sharers: string[] = [];
    for (const a of this.state.allocations) {
      if (a === this.own) continue;
      for (const d of a.devices) {
        if (d.id === device.id) (d.exclusive ? exclusiveHolders : sharers).push(holderName(a));
      }
    }
    if (exclusiveHolders.length > 0) return `in use by ${exclusiveHolders.join(", ")}`;
    if (exclusive && sharers.length > 0) return `shared by ${sharers.join(", ")}`;
    const user = device.inUseBy;
    if (
      user !== undefined &&
      user !== "" &&
      user !== this.who.service &&
      (exclusive || sharers.length === 0)
    ) {
      return `in use by ${user}`;
    }
    return undefined;
  }

  get deviceClasses(): readonly string[] {
    return [...new Set(this.caps.devices.map((d) => d.class))];
  }

  get freeDeviceClasses(): readonly string[] {
    this.freeClasses ??= [
      ...new Set(
        this.caps.devices.filter((d) => this.deviceBlocker(d, true) === undefined).map((d) => d.class),
      ),
    ];
    return this.freeClasses;
  }

  get softwareNames(): readonly string[] {
    return this.caps.software.map((s) => s.name);
  }

  softwareVersion(name: string): string | undefined {
    for (const s of this.caps.software) if (s.name === name) return s.version;
    return undefined;
  }
}

/** The nodes (states) that already hold replicas of the requesting service, for spread and distinct_property. */
export function statesRunningService(states: readonly NodeState[], who: RequestIdentity): NodeState[] {
  const out: NodeState[] = [];
  const first = states[0];
  if (first === undefined) return out;
  const cursor = new NodeView(first, who);
  for (const state of states) {
    if (state.allocations.length > 0 && cursor.reset(state).replicasOfService > 0) out.push(state);
  }
  return out;
}
