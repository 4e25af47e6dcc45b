import type { Device, NodeCapabilities } from "../capabilities/model";
import type { AttributeSource } from "../constraints/attributes";
import type { Allocation, NodeState } from "./types";

/** Which replica a decision is for: its own allocation (a reservation made for it) never counts against it. */
export interface RequestIdentity {
  deploymentId: string | undefined;
  service: string;
  replica: number;
}

/** Key of a service within the fleet (the same service name may run in several deployments). */
export function serviceKey(deploymentId: string | undefined, service: string): string {
  return `${deploymentId ?? ""}\u0000${service}`;
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

interface Lease {
  allocation: Allocation;
  exclusive: boolean;
}

const NO_ALLOCATIONS = new Map<string, Allocation[]>();

/**
 * Figures derived from one NodeState that do not depend on the request: committed and reserved resources,
 * allocations per service, device leases. Cached per NodeState object across decisions (a fleet of 10,000
 * nodes would otherwise redo this for every decision); the cache entry is dropped when the state's
 * capabilities, allocation list or its length change, so replacing or appending keeps it correct.
 */
class NodeFacts {
  readonly caps: NodeCapabilities;
  readonly allocations: readonly Allocation[];
  readonly allocationCount: number;
  readonly cpuCommitted: number = 0;
  readonly memCommitted: number = 0;
  readonly memReserved: number = 0;
  readonly diskReserved: number = 0;
  readonly byService: Map<string, Allocation[]>;
  private leaseIndex: Map<string, Lease[]> | undefined;
  private softwareIndex: Map<string, string> | undefined;
  private classList: string[] | undefined;
  private softwareList: string[] | undefined;

  constructor(state: NodeState) {
    this.caps = state.capabilities;
    this.allocations = state.allocations;
    this.allocationCount = state.allocations.length;
    this.byService = state.allocations.length === 0 ? NO_ALLOCATIONS : new Map<string, Allocation[]>();
    for (const a of state.allocations) {
      const mem = a.resources.memoryBytes ?? 0;
      this.cpuCommitted += a.resources.cpus ?? 0;
      this.memCommitted += mem;
      if (a.state === "reserved") {
        this.memReserved += mem;
        this.diskReserved += a.resources.diskBytes ?? 0;
      }
      const key = serviceKey(a.deploymentId, a.service);
      const list = this.byService.get(key);
      if (list === undefined) this.byService.set(key, [a]);
      else list.push(a);
    }
  }

  isCurrentFor(state: NodeState): boolean {
    return (
      state.capabilities === this.caps &&
      state.allocations === this.allocations &&
      state.allocations.length === this.allocationCount
    );
  }

  leases(deviceId: string): Lease[] | undefined {
    if (this.leaseIndex === undefined) {
      this.leaseIndex = new Map();
      for (const allocation of this.allocations) {
        for (const d of allocation.devices) {
          const list = this.leaseIndex.get(d.id);
          const lease = { allocation, exclusive: d.exclusive };
          if (list === undefined) this.leaseIndex.set(d.id, [lease]);
          else list.push(lease);
        }
      }
    }
    return this.leaseIndex.get(deviceId);
  }

  softwareVersion(name: string): string | undefined {
    const software = this.caps.software;
    if (software.length <= 4) {
      for (const s of software) if (s.name === name) return s.version;
      return undefined;
    }
    this.softwareIndex ??= new Map(software.map((s) => [s.name, s.version]));
    return this.softwareIndex.get(name);
  }

  get softwareNames(): string[] {
    return (this.softwareList ??= this.caps.software.map((s) => s.name));
  }

  get deviceClasses(): string[] {
    return (this.classList ??= [...new Set(this.caps.devices.map((d) => d.class))]);
  }
}

const factsCache = new WeakMap<NodeState, NodeFacts>();

function factsOf(state: NodeState): NodeFacts {
  const cached = factsCache.get(state);
  if (cached !== undefined && cached.isCurrentFor(state)) return cached;
  const facts = new NodeFacts(state);
  factsCache.set(state, facts);
  return facts;
}

/**
 * A node as one placement decision sees it: the cached facts adjusted for the requesting replica.
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
  private factsRef: NodeFacts | undefined;
  private serviceResolved = false;
  /** Replicas of the requesting service on this node, and which of them is the request's own. */
  private sameService: readonly Allocation[] | undefined;
  private ownRef: Allocation | undefined;
  private freeClasses: string[] | undefined;

  /** `key` is serviceKey(who.deploymentId, who.service), computed once per decision rather than per node. */
  constructor(
    state: NodeState,
    readonly who: RequestIdentity,
    private readonly key: string = serviceKey(who.deploymentId, who.service),
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
    this.factsRef = undefined;
    this.serviceResolved = false;
    this.sameService = undefined;
    this.ownRef = undefined;
    this.freeClasses = undefined;
    return this;
  }

  /** A view of the current node that survives the next reset (keeps what was already looked up). */
  detach(): NodeView {
    const view = new NodeView(this.state, this.who, this.key);
    view.factsRef = this.factsRef;
    return view;
  }

  private get facts(): NodeFacts {
    return (this.factsRef ??= factsOf(this.state));
  }

  private resolveService(): void {
    if (this.serviceResolved) return;
    this.serviceResolved = true;
    const facts = this.facts;
    if (facts.byService === NO_ALLOCATIONS) return;
    this.sameService = facts.byService.get(this.key);
    this.ownRef = this.sameService?.find((a) => (a.replica ?? 0) === this.who.replica);
  }

  private get own(): Allocation | undefined {
    this.resolveService();
    return this.ownRef;
  }

  /** True when this node runs (or has reserved) replicas of the requesting service other than the request's own. */
  get runsService(): boolean {
    return this.replicasOfService > 0;
  }

  get freeCpus(): number {
    const ownCpus = this.own?.resources.cpus ?? 0;
    return Math.max(0, this.caps.resources.cpu.cores - (this.facts.cpuCommitted - ownCpus));
  }

  get freeMemoryBytes(): number {
    const m = this.caps.resources.memory;
    const ownMem = this.own?.resources.memoryBytes ?? 0;
    const ownReserved = this.own?.state === "reserved" ? ownMem : 0;
    return Math.max(
      0,
      Math.min(
        m.freeBytes - (this.facts.memReserved - ownReserved),
        m.totalBytes - (this.facts.memCommitted - ownMem),
      ),
    );
  }

  get freeDiskBytes(): number {
    const ownDisk = this.own?.state === "reserved" ? (this.own.resources.diskBytes ?? 0) : 0;
    return Math.max(0, this.caps.resources.disk.freeBytes - (this.facts.diskReserved - ownDisk));
  }

  /** Replicas of the requesting service already on this node (placed or reserved), excluding the request's own. */
  get replicasOfService(): number {
    this.resolveService();
    if (this.sameService === undefined) return 0;
    return this.sameService.length - (this.own === undefined ? 0 : 1);
  }

  /**
   * Why a device cannot be used by this request, or undefined when it can. An exclusive request needs the device
   * untouched; a shared one tolerates other shared leases but not an exclusive one. `inUseBy` (seen by the agent
   * outside our leases) blocks both, unless it names the requesting service itself or a shared lease explains it.
   */
  deviceBlocker(device: Device, exclusive: boolean): string | undefined {
    const own = this.own;
    const leases = this.facts.leases(device.id)?.filter((l) => l.allocation !== own);
    if (leases !== undefined && leases.length > 0) {
      const holders = leases.filter((l) => l.exclusive).map((l) => holderName(l.allocation));
      if (holders.length > 0) return `in use by ${holders.join(", ")}`;
      if (exclusive) return `shared by ${leases.map((l) => holderName(l.allocation)).join(", ")}`;
    }
    const user = device.inUseBy;
    if (user !== undefined && user !== "" && user !== this.who.service) {
      const explainedByShare = !exclusive && leases !== undefined && leases.length > 0;
      if (!explainedByShare) return `in use by ${user}`;
    }
    return undefined;
  }

  get deviceClasses(): readonly string[] {
    return this.facts.deviceClasses;
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
    return this.facts.softwareNames;
  }

  softwareVersion(name: string): string | undefined {
    return this.facts.softwareVersion(name);
  }
}

/** Views of the nodes that already hold replicas of the requesting service (for spread and distinct_property). */
export function nodesRunningService(states: readonly NodeState[], who: RequestIdentity): NodeView[] {
  const key = serviceKey(who.deploymentId, who.service);
  const out: NodeView[] = [];
  for (const state of states) {
    if (state.allocations.length === 0) continue;
    const view = new NodeView(state, who, key);
    if (view.replicasOfService > 0) out.push(view);
  }
  return out;
}
