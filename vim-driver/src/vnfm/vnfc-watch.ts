import {
  IotFogError,
  errorMessage,
  isIotFogError,
  serverExtId,
  type Component,
  type DeploymentInfo,
  type Logger,
} from "@openiotfog/shared";
import type { EventLog } from "../fleet/events";
import type { Server } from "../openbaton/catalogue";
import { nodeAddress, type LiveFleet } from "../openbaton/fleet/live-fleet";
import { movedFrom, movedTo, pendingVnfc, reconcilerNews } from "./fleet-moves";
import type { FogFault, VnfcMove } from "./ports";
import { splitExtId, stateOf } from "./vnfc-ids";

export interface VnfcWatchOptions {
  fleet: LiveFleet;
  /** The agent's view of one VNFC's container (NOT_FOUND when its node no longer runs it). */
  inspect(vcId: string): Promise<DeploymentInfo>;
  /** The driver's Server for a vc_id (listServer), undefined when it lists none. */
  server(extId: string): Promise<Server | undefined>;
  /** Every server the driver placed (listServer): where an adopted VNFC may run now. */
  servers(): Promise<Server[]>;
  logger: Logger;
  checkIntervalMs: number;
  /** The fleet's event log: what the reconciler did to VNFCs by itself (`on_node_loss: replace`). */
  events?: Pick<EventLog, "subscribe">;
}

interface Tracked {
  nodeId: string;
  deviceIds: string[];
  /** Whether a fault was reported and not yet cleared, so one loss is reported once. */
  faulted: boolean;
  /**
   * Adopted after a restart and not yet seen on a live node: the fleet view fills from MQTT in the first
   * seconds, so the node counts as lost only if it is still not live at `adoptDeadline`.
   */
  adopted?: true;
}

/**
 * Watches the VNFCs that run, against the fleet: a node that runs one going away, or a device one holds
 * disappearing from its node, is a FogFault; a VNFC the fleet's reconciler placed again on another node by itself
 * is a VnfcMove (under its new vc_id from then on), one it cannot place anywhere a `not-replaced` fault.
 */
export class VnfcWatch {
  private readonly tracked = new Map<string, Tracked>();
  private readonly listeners = new Set<(fault: FogFault) => void>();
  private readonly moveListeners = new Set<(move: VnfcMove) => void>();
  private unsubscribe: (() => void) | undefined;
  private unsubscribeEvents: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private adoptGraceMs = 0;
  /** Until when adopted VNFCs whose node is not live yet are not reported lost (epoch ms). */
  private adoptDeadline = 0;

  constructor(private readonly opts: VnfcWatchOptions) {}

  private get fleet(): LiveFleet {
    return this.opts.fleet;
  }

  private get logger(): Logger {
    return this.opts.logger;
  }

  /** The fault watch as a lifecycle component. */
  readonly component: Component = {
    name: "vnfm-fault-watch",
    start: async () => {
      // The grace counts from the start of the watch (the fleet view starts filling then), not from adopt().
      this.adoptDeadline = Date.now() + this.adoptGraceMs;
      this.unsubscribe = this.fleet.onChange(() => this.check());
      // Expiry (a node that went silent) produces no message: look again on a timer as well.
      this.timer = setInterval(() => this.check(), this.opts.checkIntervalMs);
      this.unsubscribeEvents = this.opts.events?.subscribe((e) => this.onReconciler(reconcilerNews(e)));
    },
    stop: async () => {
      this.unsubscribeEvents?.();
      this.unsubscribe?.();
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
    },
  };

  onFault(listener: (fault: FogFault) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called when the fleet placed a watched VNFC again on another node and it runs there. */
  onMove(listener: (move: VnfcMove) => void): () => void {
    this.moveListeners.add(listener);
    return () => this.moveListeners.delete(listener);
  }

  private onReconciler(news: ReturnType<typeof reconcilerNews>): void {
    if (news === undefined) return;
    if (news.kind === "pending") {
      const vcId = pendingVnfc(this.tracked.keys(), news);
      if (vcId === undefined) return;
      const nodeId = (this.tracked.get(vcId) as Tracked).nodeId;
      this.emit({ kind: "not-replaced", nodeId, vcIds: [vcId], detail: news.message });
      return;
    }
    const from = movedFrom(this.tracked.keys(), news);
    if (from === undefined) return;
    const to = serverExtId(news.nodeId, news.agentDeploymentId);
    this.tracked.delete(from);
    void this.reportMove(from, to).catch((e: unknown) =>
      this.logger.warn("could not follow a VNFC the fleet placed again", {
        from,
        to,
        error: errorMessage(e),
      }),
    );
  }

  /** The moved VNFC as the driver's Server for it says (listServer), watched under its new vc_id. */
  private async reportMove(from: string, to: string): Promise<void> {
    let info: DeploymentInfo | undefined;
    try {
      info = await this.opts.inspect(to);
    } catch {
      info = undefined;
    }
    this.track(to, info);
    const server = await this.opts.server(to);
    if (server === undefined) throw new IotFogError("NOT_FOUND", `server ${to} is not listed`);
    const node = this.fleet.liveNode(server.hypervisorHostName);
    const move: VnfcMove = {
      from,
      to: {
        vcId: to,
        nodeId: server.hypervisorHostName,
        hostname: server.hostName,
        state: info === undefined ? "ERROR" : stateOf(info),
        ips: server.ips,
        address: node === undefined ? server.hypervisorHostName : nodeAddress(node),
        floatingIps: server.floatingIps,
      },
    };
    this.logger.info("VNFC placed again by the fleet", { from, to, state: move.to.state });
    for (const l of this.moveListeners) l(move);
  }

  /** Stops watching a VNFC (removed, or re-created under another vc_id). */
  untrack(vcId: string): void {
    this.tracked.delete(vcId);
  }

  /** Watches a VNFC that runs (its devices from the agent's info, else the ones known). */
  track(vcId: string, info: DeploymentInfo | undefined): void {
    const { nodeId } = splitExtId(vcId);
    this.tracked.set(vcId, {
      nodeId,
      deviceIds: info?.devices.map((d) => d.deviceId) ?? this.tracked.get(vcId)?.deviceIds ?? [],
      faulted: false,
    });
  }

  /**
   * Watches VNFCs again after a restart of this process (the VNFM's stored records name them). Each is confirmed
   * with its agent once its node is live: its devices are learnt then, and one its node no longer runs is dropped
   * (and logged). A node not live within `graceMs` is reported lost, as it would have been before the restart.
   */
  adopt(vcIds: string[], graceMs: number): void {
    this.adoptGraceMs = graceMs;
    this.adoptDeadline = Date.now() + graceMs;
    for (const vcId of vcIds) {
      if (this.tracked.has(vcId)) continue;
      let nodeId: string;
      try {
        nodeId = splitExtId(vcId).nodeId;
      } catch {
        continue;
      }
      this.tracked.set(vcId, { nodeId, deviceIds: [], faulted: false, adopted: true });
    }
    if (vcIds.length > 0) this.logger.info("watching VNFCs of stored records", { vnfcs: vcIds.length });
  }

  private confirmAdopted(vcId: string, t: Tracked): void {
    delete t.adopted;
    this.opts.inspect(vcId).then(
      (info) => {
        if (this.tracked.get(vcId) === t) t.deviceIds = info.devices.map((d) => d.deviceId);
      },
      (e: unknown) => {
        if (isIotFogError(e) && e.code === "NOT_FOUND" && this.tracked.get(vcId) === t)
          void this.lookElsewhere(vcId, t, () => {
            this.tracked.delete(vcId);
            this.logger.warn("a stored VNFC is not on its node any more; no longer watched", {
              vcId,
              nodeId: t.nodeId,
            });
          });
      },
    );
  }

  /**
   * An adopted VNFC its node does not run (node gone, or back without it): the fleet may have placed it again
   * while this process was down, or before it could say so. Then it is a move (the NFVO gets its record update);
   * else `otherwise`.
   */
  private async lookElsewhere(vcId: string, t: Tracked, otherwise: () => void): Promise<void> {
    t.faulted = true;
    let to: string | undefined;
    try {
      to = movedTo(
        (await this.opts.servers()).map((s) => s.extId),
        vcId,
      );
    } catch (e) {
      this.logger.warn("could not list the servers to find a VNFC", { vcId, error: errorMessage(e) });
    }
    if (this.tracked.get(vcId) !== t) return;
    if (to === undefined) {
      otherwise();
      return;
    }
    this.tracked.delete(vcId);
    await this.reportMove(vcId, to).catch((e: unknown) =>
      this.logger.warn("could not follow a VNFC the fleet placed again", {
        from: vcId,
        to,
        error: errorMessage(e),
      }),
    );
  }

  private check(): void {
    if (this.tracked.size === 0) return;
    const live = new Map(this.fleet.live().map((n) => [n.nodeId, n]));
    const lost = new Map<string, string[]>();
    const now = Date.now();
    for (const [vcId, t] of this.tracked) {
      if (t.faulted) continue;
      const node = live.get(t.nodeId);
      if (t.adopted) {
        if (node !== undefined) this.confirmAdopted(vcId, t);
        else if (now < this.adoptDeadline) continue;
        else {
          delete t.adopted;
          void this.lookElsewhere(vcId, t, () =>
            this.emit({
              kind: "node-lost",
              nodeId: t.nodeId,
              vcIds: [vcId],
              detail: `node ${t.nodeId} is offline (no presence or heartbeat)`,
            }),
          );
          continue;
        }
      }
      if (node === undefined) {
        t.faulted = true;
        lost.set(t.nodeId, [...(lost.get(t.nodeId) ?? []), vcId]);
        continue;
      }
      const present = new Set(node.capabilities.devices.map((d) => d.id));
      const gone = t.deviceIds.filter((id) => !present.has(id));
      if (gone.length > 0) {
        t.faulted = true;
        this.emit({
          kind: "device-removed",
          nodeId: t.nodeId,
          vcIds: [vcId],
          detail: `device ${gone.join(", ")} is no longer on node ${t.nodeId}`,
        });
      }
    }
    for (const [nodeId, vcIds] of lost) {
      this.emit({
        kind: "node-lost",
        nodeId,
        vcIds,
        detail: `node ${nodeId} is offline (no presence or heartbeat)`,
      });
    }
  }

  private emit(fault: FogFault): void {
    this.logger.warn("fog fault under VNFCs", { kind: fault.kind, nodeId: fault.nodeId, vcIds: fault.vcIds });
    for (const l of this.listeners) {
      try {
        l(fault);
      } catch (e) {
        this.logger.warn("fog fault listener failed", { error: errorMessage(e) });
      }
    }
  }
}
