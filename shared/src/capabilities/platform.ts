import { z } from "zod";
import type { NodeCapabilities } from "./model";

/**
 * Platforms in the OCI image-spec's terms (os / architecture / variant, Go naming: `amd64`, `arm64`, `arm` with
 * `v6`/`v7`), for images and for nodes alike. An image runs on a node when both say the same os and architecture
 * and, where both name one, the same variant: an amd64 image on a Pi starts and dies with `exec format error`.
 */
export const imagePlatformSchema = z
  .object({
    os: z.string().min(1),
    architecture: z.string().min(1),
    variant: z.string().min(1).optional(),
  })
  .strict();
export type ImagePlatform = z.infer<typeof imagePlatformSchema>;

/** Kernel and toolchain names that mean the same architecture as Go's. */
const ARCHITECTURE_ALIASES: Record<string, string> = {
  x86_64: "amd64",
  x64: "amd64",
  aarch64: "arm64",
  armhf: "arm",
  armel: "arm",
};

export function normaliseArchitecture(architecture: string): string {
  const lower = architecture.toLowerCase();
  return ARCHITECTURE_ALIASES[lower] ?? lower;
}

/** `linux/amd64`, `linux/arm/v7`. */
export function formatPlatform(p: ImagePlatform): string {
  return p.variant === undefined ? `${p.os}/${p.architecture}` : `${p.os}/${p.architecture}/${p.variant}`;
}

/** The platform a node's containers run on, as its agent reports it. */
export function nodePlatformOf(caps: Pick<NodeCapabilities, "platform">): ImagePlatform {
  const { os, arch, variant } = caps.platform;
  return variant === undefined ? { os, architecture: arch } : { os, architecture: arch, variant };
}

/** Whether an image built for `image` runs on a node of platform `node`. A variant only counts when both name one. */
export function platformRuns(image: ImagePlatform, node: ImagePlatform): boolean {
  if (image.os !== node.os) return false;
  if (normaliseArchitecture(image.architecture) !== normaliseArchitecture(node.architecture)) return false;
  return image.variant === undefined || node.variant === undefined || image.variant === node.variant;
}

/** The image's platforms without repeats (several nodes report the same one), in a stable order. */
export function distinctPlatforms(platforms: Iterable<ImagePlatform>): ImagePlatform[] {
  const byName = new Map<string, ImagePlatform>();
  for (const p of platforms) {
    const normal: ImagePlatform = { ...p, architecture: normaliseArchitecture(p.architecture) };
    byName.set(formatPlatform(normal), normal);
  }
  return [...byName.keys()].sort().map((k) => byName.get(k) as ImagePlatform);
}

/**
 * An image reference with the implicit tag made explicit, so `openiotfog/x` and `openiotfog/x:latest` are one key
 * (a digest reference is kept as it is).
 */
export function imageKey(image: string): string {
  const slash = image.lastIndexOf("/");
  return image.slice(slash + 1).includes(":") || image.includes("@") ? image : `${image}:latest`;
}
