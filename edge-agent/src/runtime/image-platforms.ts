import { normaliseArchitecture, type ImagePlatform } from "@openiotfog/shared";

/** What an engine's image inspect says of the platform (Docker: Os / Architecture / Variant). */
export interface InspectedPlatform {
  Os?: string;
  Architecture?: string;
  Variant?: string;
}

/**
 * The platform each local image was built for, which the image list does not carry: one inspect per image id,
 * kept, since an id names fixed content. The driver places on it (an amd64-only image never goes to a Pi).
 */
export class ImagePlatformCache {
  private readonly known = new Map<string, ImagePlatform>();

  /** `inspect` resolves undefined when the image is gone (removed since the list was taken). */
  constructor(private readonly inspect: (id: string) => Promise<InspectedPlatform | undefined>) {}

  async of(id: string): Promise<ImagePlatform | undefined> {
    const cached = this.known.get(id);
    if (cached !== undefined) return cached;
    const info = await this.inspect(id);
    if (info === undefined || !info.Os || !info.Architecture) return undefined;
    const platform: ImagePlatform = {
      os: info.Os,
      architecture: normaliseArchitecture(info.Architecture),
      ...(info.Variant ? { variant: info.Variant } : {}),
    };
    if (this.known.size > 1000) this.known.clear(); // bounded: images come and go on a long-lived node
    this.known.set(id, platform);
    return platform;
  }
}
