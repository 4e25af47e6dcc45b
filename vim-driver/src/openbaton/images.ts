import { IotFogError, errorMessage } from "@openiotfog/shared";
import type { DockerImage } from "./catalogue";
import { onLiveNodes, type NodeCalls } from "./fleet/node-calls";

type Obj = Record<string, unknown>;

/**
 * The VIM's images: the inventory of what the live nodes have, resolving the image a launch names, and adding
 * images to every live node (a tarball over HTTP or in the request, or a pull). Nodes copy images between
 * themselves at launch (the fleet's image distribution); nothing here deletes an image.
 */
export class FogImages {
  constructor(
    private readonly calls: NodeCalls,
    private readonly imageTransferTimeoutMs: number,
  ) {}

  /** Images present on live nodes, one entry per image id (the same content has the same id everywhere). */
  async list(): Promise<DockerImage[]> {
    const perNode = await onLiveNodes(
      this.calls,
      "images.list",
      async (_n, c) => (await c.call("images.list", {})).images,
    );
    const byId = new Map<string, { tags: Set<string>; created: number }>();
    for (const { value } of perNode) {
      for (const img of value) {
        if (img.tags.length === 0) continue; // the NFVO matches images by tag only
        const entry = byId.get(img.id) ?? { tags: new Set<string>(), created: img.createdAt };
        for (const t of img.tags) entry.tags.add(t);
        byId.set(img.id, entry);
      }
    }
    return [...byId.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([extId, e]) => ({ extId, tags: [...e.tags].sort(), created: new Date(e.created).toISOString() }));
  }

  /** Resolves the image the NFVO names (an extId, or a tag) to a tag present on some live node. */
  async resolve(image: string): Promise<{ extId: string; tag: string }> {
    const images = await this.list();
    const byId = images.find((i) => i.extId === image);
    if (byId?.tags[0] !== undefined) return { extId: byId.extId, tag: byId.tags[0] };
    const byTag = images.find((i) => i.tags.includes(image));
    if (byTag) return { extId: byTag.extId, tag: image };
    throw new IotFogError("IMAGE_NOT_FOUND", `image ${image} is not present on any live fog node`);
  }

  private async answer(tags: string[], fallbackName: string): Promise<Obj> {
    const images = await this.list();
    const found = images.find((i) => i.tags.some((t) => tags.includes(t)));
    const name = tags[0] ?? fallbackName;
    return found ? { extId: found.extId, name, tags: found.tags } : { extId: name, name, tags };
  }

  async addFromUrl(image: Obj, url: string): Promise<Obj> {
    if (/^https?:\/\//i.test(url)) {
      const res = await fetch(url).catch((e: unknown) => {
        // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND...) is its cause.
        const cause = (e as { cause?: unknown }).cause;
        const why = cause === undefined ? errorMessage(e) : `${errorMessage(e)}: ${errorMessage(cause)}`;
        throw new IotFogError("UNAVAILABLE", `cannot download image tarball ${url}: ${why}`);
      });
      if (!res.ok)
        throw new IotFogError("NOT_FOUND", `cannot download image tarball ${url}: HTTP ${res.status}`);
      return this.importEverywhere(Buffer.from(await res.arrayBuffer()), image);
    }
    const pulled = await onLiveNodes(this.calls, "images.pull", (_n, c) =>
      c.call("images.pull", { image: url }, { timeoutMs: this.imageTransferTimeoutMs }),
    );
    if (pulled.length === 0) throw new IotFogError("UNAVAILABLE", `no live fog node could pull ${url}`);
    return this.answer([url], url);
  }

  /** addImage with the bytes, and copyImage: the tarball is imported on every live node. */
  async importEverywhere(tarball: Buffer, image: Obj): Promise<Obj> {
    const imported = await onLiveNodes(this.calls, "image import", (_n, c) => c.importImage(tarball));
    const first = imported[0]?.value;
    if (first === undefined) throw new IotFogError("UNAVAILABLE", "no live fog node accepted the image");
    return this.answer(first.images, typeof image.name === "string" ? image.name : "image");
  }

  async update(image: Obj): Promise<Obj> {
    const images = await this.list();
    const key = [image.extId, image.name].filter((v): v is string => typeof v === "string");
    const found = images.find((i) => key.includes(i.extId) || i.tags.some((t) => key.includes(t)));
    if (!found) throw new IotFogError("NOT_FOUND", `no image ${key.join(" / ")} on the live fog nodes`);
    return { ...image, extId: found.extId, tags: found.tags };
  }
}
