import {
  IotFogError,
  errorMessage,
  type AgentClient,
  type ExpectedImage,
  type ImageInfo,
  type Logger,
} from "@openiotfog/shared";
import type { AgentDirectory, NodeDirectory } from "./directories";
import { runsOnNode } from "./image-platforms";
import type { DeployProgress, FleetNode } from "./types";

export type ImageProgress = Extract<DeployProgress, { phase: "image" }>;

export interface ImageDistributionOptions {
  fleet: NodeDirectory;
  agents: AgentDirectory;
  logger: Logger;
  imageTransferTimeoutMs: number;
  now: () => number;
}

/**
 * Gets an image onto the node that will run it: nothing to do when the node has it, else streamed from the first
 * online node that has it (no registry needed on a factory LAN), else pulled on the node.
 */
export class ImageDistribution {
  constructor(private readonly opts: ImageDistributionOptions) {}

  async ensure(
    target: { service: string; replica: number; nodeId: string; image: string },
    progress: (p: ImageProgress) => void,
  ): Promise<void> {
    const { nodeId, image } = target;
    const base = { phase: "image" as const, ...target };
    const client = this.opts.agents.client(nodeId);
    if ((await heldImage(client, image)) !== undefined) {
      progress({ ...base, action: "present" });
      return;
    }
    // A copy that breaks (the source gone mid-copy, a corrupted chunk, the target's disk full) is retried from
    // the next source; the target's half import was aborted by the client. The failures explain a final refusal.
    const failures: string[] = [];
    for (const other of this.opts.fleet.nodes()) {
      if (other.nodeId === nodeId || !other.online || other.endpoint === undefined) continue;
      let source: AgentClient;
      let expect: ExpectedImage;
      try {
        source = this.opts.agents.client(other.nodeId);
        // Only a copy that runs there: an image never goes to a node of another architecture.
        const held = await heldImage(source, image, this.opts.fleet.node(nodeId));
        if (held === undefined) continue;
        // The target loads the tarball only if it is this image (Docker's content-addressed id, as the source
        // node answered over the command channel) under this tag: not whatever the tarball declares.
        expect = { imageId: held.id, ...(isTagReference(image) ? { tag: withTag(image) } : {}) };
      } catch {
        continue;
      }
      progress({ ...base, action: "copy", fromNodeId: other.nodeId, doneBytes: 0 });
      const started = this.opts.now();
      try {
        const bytes = await copyWithProgress(source, client, image, expect, (doneBytes, totalBytes) =>
          progress({ ...base, action: "copy", fromNodeId: other.nodeId, doneBytes, totalBytes }),
        );
        this.opts.logger.info("image copied", {
          image,
          from: other.nodeId,
          to: nodeId,
          bytes,
          ms: this.opts.now() - started,
        });
        return;
      } catch (e) {
        this.opts.logger.warn("image copy failed; trying the next source", {
          image,
          from: other.nodeId,
          to: nodeId,
          error: errorMessage(e),
        });
        failures.push(`copy from ${other.nodeId} failed: ${errorMessage(e)}`);
      }
    }
    progress({ ...base, action: "pull" });
    try {
      await client.call(
        "images.pull",
        { image },
        { timeoutMs: this.opts.imageTransferTimeoutMs, retries: 0 },
      );
    } catch (e) {
      const copies =
        failures.length === 0 ? "is on no online node" : `could not be copied (${failures.join("; ")})`;
      throw new IotFogError(
        "IMAGE_NOT_FOUND",
        `image ${image} ${copies} and cannot be pulled on ${nodeId}: ${errorMessage(e)}`,
      );
    }
  }
}

/** The agent's image that `image` names (built for `runsOn`'s platform, when given), if it holds one. */
async function heldImage(
  client: AgentClient,
  image: string,
  runsOn?: FleetNode,
): Promise<ImageInfo | undefined> {
  const want = withTag(image);
  const { images } = await client.call("images.list", {});
  return images.find(
    (i) => (i.tags.some((t) => withTag(t) === want) || i.id === image) && runsOnNode(i.platform, runsOn),
  );
}

/** `repo[:tag]`, not an image id nor a digest reference (those load without a tag). */
function isTagReference(image: string): boolean {
  return !image.includes("@") && !/^(sha256:)?[0-9a-f]{64}$/.test(image);
}

function withTag(image: string): string {
  const slash = image.lastIndexOf("/");
  return image.slice(slash + 1).includes(":") || image.includes("@") ? image : `${image}:latest`;
}

/**
 * Streams an image from one agent to another (shared protocol: export chunks into a verified import), reporting
 * the bytes done after every chunk so operators see a progress bar. Returns the image size in bytes.
 */
async function copyWithProgress(
  source: AgentClient,
  target: AgentClient,
  image: string,
  expect: ExpectedImage,
  onProgress: (doneBytes: number, totalBytes: number) => void,
): Promise<number> {
  const exported = await source.openExport(image);
  try {
    let done = 0;
    await target.importStream(
      exported.sizeBytes,
      exported.sha256,
      async (write) => {
        for await (const chunk of exported.chunks()) {
          await write(chunk);
          done += chunk.length;
          onProgress(done, exported.sizeBytes);
        }
      },
      expect,
    );
    return exported.sizeBytes;
  } finally {
    await exported.close();
  }
}
