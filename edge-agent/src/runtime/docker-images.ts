import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import type Docker from "dockerode";
import { IotFogError, type ErrorCode } from "@openiotfog/shared";
import { dockerError, type DockerApiError } from "./docker-api";
import { ImagePlatformCache, type InspectedPlatform } from "./image-platforms";
import type { ImageSummary } from "./runtime";

/** The Docker runtime's images: listed with their platform, looked up, loaded from and saved to tarballs, pulled. */
export class DockerImages {
  private readonly imagePlatforms = new ImagePlatformCache(async (id) => {
    try {
      return (await this.docker.getImage(id).inspect()) as InspectedPlatform;
    } catch (e) {
      if ((e as DockerApiError).statusCode === 404) return undefined;
      throw e;
    }
  });

  constructor(
    private readonly docker: Docker,
    private readonly nodeId: string,
  ) {}

  async list(): Promise<ImageSummary[]> {
    try {
      const list = await this.docker.listImages();
      const out: ImageSummary[] = [];
      for (const i of list) {
        const platform = await this.imagePlatforms.of(i.Id);
        out.push({
          id: i.Id,
          tags: (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>"),
          sizeBytes: i.Size,
          createdAt: i.Created * 1000,
          ...(platform === undefined ? {} : { platform }),
        });
      }
      return out;
    } catch (e) {
      throw dockerError(e, "list images");
    }
  }

  async has(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (e) {
      if ((e as DockerApiError).statusCode === 404) return false;
      throw dockerError(e, `inspect image ${ref}`);
    }
  }

  async idOf(ref: string): Promise<string | undefined> {
    try {
      return (await this.docker.getImage(ref).inspect()).Id;
    } catch (e) {
      if ((e as DockerApiError).statusCode === 404) return undefined;
      throw dockerError(e, `inspect image ${ref}`);
    }
  }

  async tag(id: string, ref: string): Promise<void> {
    const colon = ref.lastIndexOf(":");
    try {
      await this.docker.getImage(id).tag({ repo: ref.slice(0, colon), tag: ref.slice(colon + 1) });
    } catch (e) {
      throw dockerError(e, `tag image ${id} as ${ref}`);
    }
  }

  async remove(ref: string): Promise<void> {
    try {
      await this.docker.getImage(ref).remove();
    } catch (e) {
      if ((e as DockerApiError).statusCode === 404) return;
      throw dockerError(e, `remove image ${ref}`);
    }
  }

  async load(tarPath: string): Promise<string[]> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.loadImage(createReadStream(tarPath), { quiet: true });
    } catch (e) {
      throw dockerError(e, "load image tarball");
    }
    const output = await this.followProgress(stream, "load image tarball");
    const images: string[] = [];
    for (const event of output) {
      const line = typeof event.stream === "string" ? event.stream : "";
      const m = /Loaded image(?: ID)?: (\S+)/.exec(line);
      if (m?.[1] !== undefined) images.push(m[1]);
    }
    if (images.length === 0)
      throw new IotFogError("BAD_REQUEST", "the tarball contained no image (is it a `docker save` archive?)");
    return images;
  }

  async pull(ref: string): Promise<{ image: string; id: string }> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(ref);
    } catch (e) {
      const err = dockerError(e, `pull ${ref}`);
      // A registry that cannot be reached is a node-local condition the caller may retry elsewhere.
      throw err.code === "RUNTIME_ERROR" ? new IotFogError("UNAVAILABLE", err.message, err.details) : err;
    }
    await this.followProgress(stream, `pull ${ref}`);
    try {
      const info = await this.docker.getImage(ref).inspect();
      return { image: ref, id: info.Id };
    } catch (e) {
      throw dockerError(e, `inspect pulled image ${ref}`);
    }
  }

  async save(ref: string, tarPath: string): Promise<void> {
    if (!(await this.has(ref)))
      throw new IotFogError("IMAGE_NOT_FOUND", `image ${ref} is not on node ${this.nodeId}`);
    try {
      const stream = await this.docker.getImage(ref).get();
      await pipeline(stream, createWriteStream(tarPath));
    } catch (e) {
      throw dockerError(e, `save image ${ref}`);
    }
  }

  private followProgress(
    stream: NodeJS.ReadableStream,
    what: string,
  ): Promise<Array<Record<string, unknown>>> {
    return new Promise((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<Record<string, unknown>>) => {
          if (err) return reject(dockerError(err, what));
          const failed = output.find((o) => o.error !== undefined || o.errorDetail !== undefined);
          if (failed !== undefined) {
            const message =
              typeof failed.error === "string" ? failed.error : JSON.stringify(failed.errorDetail);
            const code: ErrorCode = /not found|does not exist|manifest unknown|pull access denied/i.test(
              message,
            )
              ? "IMAGE_NOT_FOUND"
              : "RUNTIME_ERROR";
            return reject(new IotFogError(code, `${what}: ${message}`));
          }
          resolve(output);
        },
      );
    });
  }
}
