import { EventEmitter } from "node:events";
import {
  DEFAULT_LIMITS,
  LimitRefusals,
  type HeartbeatPayload,
  type Logger,
  type NodeCapabilities,
  type NodeMessage,
  type PresencePayload,
} from "@openiotfog/shared";

export interface PeerInfo {
  nodeId: string;
  /** `expired`: no heartbeat for longer than its expiry (crashed, or cut off from the broker). */
  state: "online" | "offline" | "expired";
  sessionId?: string;
  endpoint?: string;
  presence?: PresencePayload;
  capabilities?: NodeCapabilities;
  heartbeat?: HeartbeatPayload;
  /** Local clock (ms) when anything was last heard from the peer. */
  lastSeen: number;
  expiryMs: number;
}

export interface PeerEvents {
  /** A peer came online (first seen, or back after offline/expired). */
  online: [PeerInfo];
  /** A peer said goodbye, its last-will fired (`offline`), or it went silent (`expired`). */
  offline: [PeerInfo];
  capabilities: [PeerInfo];
}

/**
 * Nodes seen on the discovery topics, with their capabilities and last heartbeat. Pure state plus events: the
 * caller feeds validated messages and calls sweep() on a timer; peers silent for longer than their advertised
 * expiry are marked expired. The table is bounded (`maxPeers`): a new node beyond it takes the place of the
 * peer silent for longest among those not online, or is refused (counted, logged) when every peer is online.
 */
export class PeerTable extends EventEmitter<PeerEvents> {
  private readonly peers = new Map<string, PeerInfo>();
  readonly refusals: LimitRefusals;

  constructor(
    private readonly selfId: string,
    private readonly defaultExpiryMs: number,
    opts: { maxPeers?: number; logger?: Logger } = {},
  ) {
    super();
    this.refusals = new LimitRefusals("peer table", opts.maxPeers ?? DEFAULT_LIMITS.peers, opts.logger);
  }

  /** Room for one more peer: frees the place of the longest-silent peer that is not online, if needed. */
  private makeRoom(nodeId: string): boolean {
    if (this.peers.size < this.refusals.limit) return true;
    let oldest: PeerInfo | undefined;
    for (const p of this.peers.values()) {
      if (p.state !== "online" && (oldest === undefined || p.lastSeen < oldest.lastSeen)) oldest = p;
    }
    if (oldest === undefined) {
      this.refusals.refuse({ nodeId });
      return false;
    }
    this.peers.delete(oldest.nodeId);
    return true;
  }

  apply(message: NodeMessage, now: number): void {
    if (message.nodeId === this.selfId) return;
    if (message.cleared) {
      if (message.kind === "presence") {
        const gone = this.peers.get(message.nodeId);
        this.peers.delete(message.nodeId);
        if (gone !== undefined && gone.state === "online")
          this.emit("offline", { ...gone, state: "offline" });
      }
      return;
    }
    const known = this.peers.get(message.nodeId);
    if (known === undefined && !this.makeRoom(message.nodeId)) return;
    const peer = known ?? {
      nodeId: message.nodeId,
      state: "offline" as const,
      lastSeen: now,
      expiryMs: this.defaultExpiryMs,
    };
    const wasOnline = peer.state === "online";
    switch (message.kind) {
      case "presence": {
        const p = message.payload;
        // A last-will from an older session arriving after the node came back must not mark it offline.
        if (
          p.state === "offline" &&
          peer.sessionId !== undefined &&
          p.sessionId !== peer.sessionId &&
          wasOnline
        )
          return;
        peer.presence = p;
        peer.sessionId = p.sessionId;
        peer.expiryMs = p.expiryMs;
        if (p.endpoint !== undefined) peer.endpoint = p.endpoint;
        peer.state = p.state;
        break;
      }
      case "capabilities":
        peer.capabilities = message.payload.capabilities;
        break;
      case "heartbeat":
        peer.heartbeat = message.payload;
        // A heartbeat proves the node is alive even if its retained presence was missed.
        if (peer.state !== "online") peer.state = "online";
        peer.sessionId ??= message.payload.sessionId;
        break;
      case "events":
      case "usage":
        // Heard, so the peer is alive; neither changes what forwarding or the status read of it.
        break;
    }
    peer.lastSeen = now;
    this.peers.set(peer.nodeId, peer);
    if (message.kind === "capabilities") this.emit("capabilities", { ...peer });
    if (!wasOnline && peer.state === "online") this.emit("online", { ...peer });
    if (wasOnline && peer.state !== "online") this.emit("offline", { ...peer });
  }

  /** Marks peers silent for longer than their expiry; returns those that just expired. */
  sweep(now: number): PeerInfo[] {
    const expired: PeerInfo[] = [];
    for (const peer of this.peers.values()) {
      if (peer.state === "online" && now - peer.lastSeen > peer.expiryMs) {
        peer.state = "expired";
        expired.push({ ...peer });
        this.emit("offline", { ...peer });
      }
    }
    return expired;
  }

  get(nodeId: string): PeerInfo | undefined {
    const p = this.peers.get(nodeId);
    return p === undefined ? undefined : { ...p };
  }

  list(): PeerInfo[] {
    return [...this.peers.values()].map((p) => ({ ...p }));
  }
}
