import type { NodeCapabilities } from "@openiotfog/shared";
import type { FleetView } from "../../fleet/fleet-view";
import type { FleetNode } from "../../fleet/types";

/** A node the VIM may place on and talk to: online, with capabilities and a command endpoint. */
export interface LiveNode {
  nodeId: string;
  endpoint: string;
  /** Free memory and disk as of the latest heartbeat. */
  capabilities: NodeCapabilities;
}

/** What the VIM side reads of the shared fleet view (FleetView, or a fake in unit tests). */
export type NodeSource = Pick<FleetView, "nodes" | "node" | "onChange">;

/**
 * The live part of the shared FleetView (vim-driver/src/fleet), in the shape the Open Baton side and the fog
 * VNFM use: no MQTT of its own, so the API, the VIM service and the VNFM see the same nodes at the same time.
 */
export class LiveFleet {
  constructor(private readonly view: NodeSource) {}

  /** Live nodes, sorted by id. */
  live(): LiveNode[] {
    const out: LiveNode[] = [];
    for (const n of this.view.nodes()) {
      const node = toLiveNode(n);
      if (node !== undefined) out.push(node);
    }
    return out;
  }

  liveNode(nodeId: string): LiveNode | undefined {
    const n = this.view.node(nodeId);
    return n === undefined ? undefined : toLiveNode(n);
  }

  /** Called on every change of a node (presence, capabilities, heartbeat, liveness). */
  onChange(listener: () => void): () => void {
    return this.view.onChange(() => listener());
  }

  /**
   * Called when a node becomes live: seen for the first time, or back after being offline. Nodes already live
   * when this is called are not reported.
   */
  onNodeLive(listener: (node: LiveNode) => void): () => void {
    const live = new Set(this.live().map((n) => n.nodeId));
    return this.view.onChange((nodeId) => {
      const node = this.liveNode(nodeId);
      if (node === undefined) live.delete(nodeId);
      else if (!live.has(nodeId)) {
        live.add(nodeId);
        listener(node);
      }
    });
  }
}

function toLiveNode(n: FleetNode): LiveNode | undefined {
  if (!n.online || n.endpoint === undefined || n.capabilities === undefined) return undefined;
  // FleetView hands out copies, so the heartbeat figures can be written into this one.
  const capabilities = n.capabilities;
  if (n.live !== undefined) {
    capabilities.resources.memory.freeBytes = Math.round(n.live.memory.freeBytes);
    capabilities.resources.disk.freeBytes = Math.round(n.live.disk.freeBytes);
  }
  return { nodeId: n.nodeId, endpoint: n.endpoint, capabilities };
}

/** The address other fog nodes reach this node at: the host of its command endpoint. */
export function nodeAddress(node: LiveNode): string {
  try {
    const host = new URL(node.endpoint.replace(/^tcp:/, "http:")).hostname.replace(/^\[|\]$/g, "");
    if (host !== "" && host !== "*" && host !== "0.0.0.0") return host;
  } catch {
    // not a URL: fall back to the hostname
  }
  return node.capabilities.hostname;
}
