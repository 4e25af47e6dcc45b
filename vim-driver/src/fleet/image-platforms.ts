import {
  distinctPlatforms,
  errorMessage,
  imageKey,
  nodePlatformOf,
  platformRuns,
  type AgentClient,
  type ImagePlatform,
  type Logger,
} from "@openiotfog/shared";
import type { FleetNode } from "./types";

/** One image in an agent's `images.list`. */
interface ListedImage {
  id: string;
  tags: string[];
  platform?: ImagePlatform | undefined;
}

export interface ImagePlatformsOptions {
  fleet: { nodes(): FleetNode[] };
  agents: { client(nodeId: string): AgentClient };
  logger: Logger;
  requestTimeoutMs: number;
  /** How long a node's image list stays fresh. */
  ttlMs?: number;
  now?: () => number;
}

/**
 * What the driver knows of images' platforms, learnt from the nodes that hold them: each online agent's
 * `images.list` says, per local image, the os/architecture/variant it was built for. A tag held as linux/amd64 on
 * one node and linux/arm64 on another is a multi-arch image (the way a registry's multi-arch image lands on a
 * mixed fleet). Placement gets the result with the snapshot (`ClusterSnapshot.images`). Registries are not asked
 * (none is reachable from the fleets this was written for): an image no node holds is unknown and unconstrained.
 */
export class ImagePlatforms {
  private readonly lists = new Map<string, { at: number; images: ListedImage[] }>();
  private readonly now: () => number;

  constructor(private readonly opts: ImagePlatformsOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Asks every online node whose list is older than the TTL; a node that does not answer keeps its last list. */
  async refresh(): Promise<void> {
    const now = this.now();
    const ttl = this.opts.ttlMs ?? 5000;
    const stale = this.opts.fleet
      .nodes()
      .filter((n) => n.online && n.endpoint !== undefined && now - (this.lists.get(n.nodeId)?.at ?? 0) > ttl);
    await Promise.all(
      stale.map(async (n) => {
        try {
          const { images } = await this.opts.agents
            .client(n.nodeId)
            .call("images.list", {}, { timeoutMs: this.opts.requestTimeoutMs, retries: 0 });
          this.lists.set(n.nodeId, { at: now, images });
        } catch (e) {
          this.opts.logger.debug("image list not refreshed", { nodeId: n.nodeId, error: errorMessage(e) });
        }
      }),
    );
  }

  /** Platforms per image (keyed by `imageKey`) over the nodes now in the fleet. */
  known(): Record<string, ImagePlatform[]> {
    const seen = new Map<string, ImagePlatform[]>();
    for (const n of this.opts.fleet.nodes()) {
      for (const image of this.lists.get(n.nodeId)?.images ?? []) {
        if (image.platform === undefined) continue;
        for (const tag of image.tags)
          seen.set(imageKey(tag), [...(seen.get(imageKey(tag)) ?? []), image.platform]);
      }
    }
    return Object.fromEntries([...seen].map(([key, platforms]) => [key, distinctPlatforms(platforms)]));
  }
}

/**
 * Whether an image of this platform runs on the node: an image copied from a peer must not land on a node of
 * another architecture. Unknown on either side (an old agent, a node without capabilities yet) does not refuse.
 */
export function runsOnNode(platform: ImagePlatform | undefined, node: FleetNode | undefined): boolean {
  if (platform === undefined || node?.capabilities === undefined) return true;
  return platformRuns(platform, nodePlatformOf(node.capabilities));
}
