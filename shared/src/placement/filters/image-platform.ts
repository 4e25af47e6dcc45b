import { formatPlatform, nodePlatformOf, platformRuns } from "../../capabilities/platform";
import { listNodes } from "../explain";
import type { FilterPlugin } from "../plugin";

/**
 * The implicit constraint of every request: the image must exist for the node's platform, or the container starts
 * and dies with `exec format error` (an amd64 image on a Pi). Only images whose platforms are known (some node
 * holds them) are checked; an unknown image is left to the node's pull.
 */
export const imagePlatformFilter: FilterPlugin = {
  name: "image-platform",
  order: 5,
  prepare: (ctx) => {
    const platforms = ctx.imagePlatforms;
    if (platforms === undefined || platforms.length === 0) return [];
    const image = ctx.spec.image;
    const has = `image ${image} has ${platforms.map(formatPlatform).join(", ")} only`;
    return [
      {
        text: `image ${image} for the node's platform`,
        cost: 1,
        test: (node) => {
          const platform = nodePlatformOf(node.caps);
          return platforms.some((p) => platformRuns(p, platform));
        },
        explain: (node) => ({ seen: formatPlatform(nodePlatformOf(node.caps)), reason: "platform" }),
        // `image openiotfog/x has linux/amd64 only; node pi-3 is linux/arm64`
        summarise: (rejected) => {
          const byPlatform = new Map<string, string[]>();
          for (const r of rejected) byPlatform.set(r.seen, [...(byPlatform.get(r.seen) ?? []), r.nodeId]);
          const parts = [...byPlatform].map(([platform, ids]) =>
            ids.length === 1
              ? `node ${listNodes(ids)} is ${platform}`
              : `nodes ${listNodes(ids)} are ${platform}`,
          );
          return `${has}; ${parts.join("; ")}`;
        },
      },
    ];
  },
};
