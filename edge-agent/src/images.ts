import { createHash, randomUUID, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rm, stat, statfs, type FileHandle } from "node:fs/promises";
import path from "node:path";
import {
  IotFogError,
  errorMessage,
  formatBytes,
  type Component,
  type ExpectedImage,
  type Logger,
} from "@openiotfog/shared";
import { checkImageTarball, withDefaultTag } from "./image-tarball";
import type { ContainerRuntime } from "./runtime/runtime";

interface ImportTransfer {
  kind: "import";
  file: string;
  handle: FileHandle;
  sizeBytes: number;
  sha256: string;
  expect: ExpectedImage | undefined;
  received: number;
  hash: Hash;
  touched: number;
}

interface ExportTransfer {
  kind: "export";
  file: string;
  handle: FileHandle;
  sizeBytes: number;
  touched: number;
}

/**
 * Chunked image transfers for factories without a registry: imports assemble a `docker save` tarball in the
 * data directory (offset-checked, sha256-verified) before loading it; exports save an image to a tarball and
 * serve it chunk by chunk. Idle transfers expire so an abandoned copy never fills the disk.
 */
export class ImageTransfers implements Component {
  readonly name = "image-transfers";
  private readonly dir: string;
  private readonly transfers = new Map<string, ImportTransfer | ExportTransfer>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    dataDir: string,
    private readonly runtime: ContainerRuntime,
    readonly chunkBytes: number,
    private readonly logger: Logger,
    private readonly opts: { maxTransfers: number; idleMs: number } = { maxTransfers: 4, idleMs: 10 * 60000 },
  ) {
    this.dir = path.join(dataDir, "transfers");
  }

  async start(): Promise<void> {
    // Leftovers of a crash mid-transfer: nobody can resume them (transfer ids lived in memory).
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    this.timer = setInterval(() => void this.expire(), Math.min(this.opts.idleMs, 60000));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const id of [...this.transfers.keys()]) await this.drop(id);
  }

  private async expire(): Promise<void> {
    const now = Date.now();
    for (const [id, t] of this.transfers) {
      if (now - t.touched > this.opts.idleMs) {
        this.logger.warn("image transfer expired", { transferId: id, kind: t.kind });
        await this.drop(id);
      }
    }
  }

  private async drop(id: string): Promise<void> {
    const t = this.transfers.get(id);
    if (t === undefined) return;
    this.transfers.delete(id);
    await t.handle.close().catch(() => undefined);
    await rm(t.file, { force: true });
  }

  private reserve(): string {
    if (this.transfers.size >= this.opts.maxTransfers) {
      throw new IotFogError(
        "UNAVAILABLE",
        `too many image transfers in progress (${this.opts.maxTransfers}); retry later`,
      );
    }
    return randomUUID();
  }

  private get<K extends "import" | "export">(
    id: string,
    kind: K,
  ): Extract<ImportTransfer | ExportTransfer, { kind: K }> {
    const t = this.transfers.get(id);
    if (t === undefined || t.kind !== kind) {
      throw new IotFogError("NOT_FOUND", `no ${kind} transfer ${id} (finished, aborted or expired)`);
    }
    t.touched = Date.now();
    return t as Extract<ImportTransfer | ExportTransfer, { kind: K }>;
  }

  async beginImport(
    sizeBytes: number,
    sha256: string,
    expect?: ExpectedImage,
  ): Promise<{ transferId: string; chunkBytes: number }> {
    const id = this.reserve();
    // Refused before the first chunk when the staging disk cannot hold the tarball: a copy that would fill the
    // disk half way is worse for the node than one that never starts.
    const fs = await statfs(this.dir);
    const free = fs.bavail * fs.bsize;
    if (sizeBytes > free) {
      // RUNTIME_ERROR, not UNAVAILABLE: retrying the same request cannot help, and the reason must reach the caller.
      throw new IotFogError(
        "RUNTIME_ERROR",
        `not enough disk space to stage the image: ${formatBytes(sizeBytes)} needed, ${formatBytes(free)} free in ${this.dir}`,
        { sizeBytes, freeBytes: free },
      );
    }
    const file = path.join(this.dir, `${id}.import.tar`);
    const handle = await open(file, "w", 0o600);
    this.transfers.set(id, {
      kind: "import",
      file,
      handle,
      sizeBytes,
      sha256,
      expect,
      received: 0,
      hash: createHash("sha256"),
      touched: Date.now(),
    });
    return { transferId: id, chunkBytes: this.chunkBytes };
  }

  async importChunk(
    id: string,
    offset: number,
    bytes: Buffer,
  ): Promise<{ transferId: string; receivedBytes: number }> {
    const t = this.get(id, "import");
    if (offset + bytes.length <= t.received && bytes.length > 0) {
      // A resend of a chunk we already have (its reply was lost): nothing to do.
      return { transferId: id, receivedBytes: t.received };
    }
    if (offset !== t.received) {
      throw new IotFogError("BAD_REQUEST", `chunk offset ${offset} but ${t.received} bytes received so far`, {
        expectedOffset: t.received,
      });
    }
    if (bytes.length === 0)
      throw new IotFogError("BAD_REQUEST", "images.import.chunk needs the chunk as attachment frame");
    if (t.received + bytes.length > t.sizeBytes) {
      throw new IotFogError("BAD_REQUEST", `chunk runs past the announced size of ${t.sizeBytes} bytes`);
    }
    try {
      await t.handle.write(bytes, 0, bytes.length, offset);
    } catch (e) {
      // Typically ENOSPC (the disk filled up since begin): the half-written tarball goes at once.
      await this.drop(id);
      throw new IotFogError(
        "RUNTIME_ERROR",
        `cannot stage the image chunk at offset ${offset}: ${errorMessage(e)}; import ${id} aborted`,
      );
    }
    t.hash.update(bytes);
    t.received += bytes.length;
    return { transferId: id, receivedBytes: t.received };
  }

  async commitImport(id: string): Promise<{ images: string[]; sizeBytes: number }> {
    const t = this.get(id, "import");
    try {
      if (t.received !== t.sizeBytes) {
        throw new IotFogError(
          "BAD_REQUEST",
          `received ${t.received} of ${t.sizeBytes} bytes; send the rest before commit`,
        );
      }
      const sha = t.hash.digest("hex");
      if (sha !== t.sha256) {
        throw new IotFogError(
          "BAD_REQUEST",
          `tarball sha256 ${sha} does not match the announced ${t.sha256}`,
        );
      }
      await t.handle.sync();
      await t.handle.close();
      const images =
        t.expect === undefined
          ? await this.runtime.loadImage(t.file)
          : await this.loadExpected(t.file, t.expect);
      this.logger.info("image imported", { images, sizeBytes: t.sizeBytes });
      return { images, sizeBytes: t.sizeBytes };
    } finally {
      await this.drop(id);
    }
  }

  /**
   * Loads a copied image only if the staged tarball is the expected one (checked before Docker reads it, see
   * image-tarball.ts). Afterwards the tag must point at the expected id; should Docker ever have read the archive
   * differently, the loaded image is removed and the tag's previous image put back.
   */
  private async loadExpected(file: string, expect: ExpectedImage): Promise<string[]> {
    try {
      const handle = await open(file, "r");
      try {
        await checkImageTarball(async (position, length) => {
          const buf = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buf, 0, length, position);
          return buf.subarray(0, bytesRead);
        }, expect);
      } finally {
        await handle.close();
      }
    } catch (e) {
      this.logger.warn("copied image refused", { expected: expect, error: errorMessage(e) });
      throw e;
    }
    const tag = expect.tag === undefined ? undefined : withDefaultTag(expect.tag);
    const before = tag === undefined ? undefined : await this.runtime.imageId(tag);
    const images = await this.runtime.loadImage(file);
    const loaded = await Promise.all(
      images.map(async (ref) => ({ ref, id: await this.runtime.imageId(ref) })),
    );
    const tagged = tag === undefined ? expect.imageId : await this.runtime.imageId(tag);
    const stray = loaded.filter((l) => l.id !== expect.imageId);
    if (tagged !== expect.imageId || stray.length > 0) {
      // Untagging each stray reference deletes the image unless something else still holds it.
      const refs = new Set(stray.map((l) => l.ref));
      if (tag !== undefined && tagged !== expect.imageId) refs.add(tag);
      for (const ref of refs) await this.runtime.removeImage(ref).catch(() => undefined);
      if (tag !== undefined && before !== undefined) await this.runtime.tagImage(before, tag);
      throw new IotFogError(
        "IMAGE_REJECTED",
        `loaded image ${tagged ?? "(none)"} is not the expected ${expect.imageId}; removed`,
        { field: "imageId", expected: expect.imageId, actual: tagged },
      );
    }
    return images;
  }

  async abort(id: string): Promise<void> {
    await this.drop(id);
  }

  async beginExport(
    image: string,
  ): Promise<{ transferId: string; sizeBytes: number; sha256: string; chunkBytes: number }> {
    const id = this.reserve();
    const file = path.join(this.dir, `${id}.export.tar`);
    try {
      await this.runtime.saveImage(image, file);
      const hash = createHash("sha256");
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      const { size } = await stat(file);
      const handle = await open(file, "r");
      this.transfers.set(id, { kind: "export", file, handle, sizeBytes: size, touched: Date.now() });
      return { transferId: id, sizeBytes: size, sha256: hash.digest("hex"), chunkBytes: this.chunkBytes };
    } catch (e) {
      await rm(file, { force: true });
      throw e;
    }
  }

  async exportChunk(
    id: string,
    offset: number,
  ): Promise<{
    result: { transferId: string; offset: number; length: number; done: boolean };
    bytes: Buffer;
  }> {
    const t = this.get(id, "export");
    if (offset > t.sizeBytes)
      throw new IotFogError("BAD_REQUEST", `offset ${offset} is past the end (${t.sizeBytes} bytes)`);
    const length = Math.min(this.chunkBytes, t.sizeBytes - offset);
    const bytes = Buffer.alloc(length);
    if (length > 0) await t.handle.read(bytes, 0, length, offset);
    return { result: { transferId: id, offset, length, done: offset + length >= t.sizeBytes }, bytes };
  }

  async endExport(id: string): Promise<void> {
    await this.drop(id);
  }
}
