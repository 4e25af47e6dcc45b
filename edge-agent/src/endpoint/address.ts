import os from "node:os";
import type { PresenceEndpoints } from "@openiotfog/shared";

/** The address to advertise: a wildcard host becomes this machine's first external IPv4 address. */
export function advertisedAddress(bound: string): string {
  const m = /^tcp:\/\/(0\.0\.0\.0|\*|\[::\]):(\d+)$/.exec(bound);
  if (m === null) return bound;
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === "IPv4" && !a.internal);
  return `tcp://${external?.address ?? "127.0.0.1"}:${m[2]}`;
}

/** An http URL made reachable from other machines: a wildcard host becomes the first external IPv4 address. */
export function advertisedUrl(url: string): string {
  const scheme = url.startsWith("https:") ? "https:" : "http:";
  return advertisedAddress(url.replace(/^https?:/, "tcp:")).replace(/^tcp:/, scheme);
}

type Source = () => string | undefined;

/**
 * Every address this agent serves, for its status, its logs and the MQTT presence. The composition root adds
 * each part once it is built; a part answers undefined while it serves nothing (an auxiliary endpoint that
 * could not bind, a disabled REST API), and is then left out.
 */
export class ServedEndpoints {
  private readonly sources: Array<[Exclude<keyof PresenceEndpoints, "commands">, Source]> = [];
  private commandSource: () => string = () => "";

  commands(source: () => string): void {
    this.commandSource = source;
  }

  add(kind: Exclude<keyof PresenceEndpoints, "commands">, source: Source): void {
    this.sources.push([kind, source]);
  }

  /** The command endpoint's advertised address. */
  command(): string {
    return this.commandSource();
  }

  all(): PresenceEndpoints {
    const out: PresenceEndpoints = { commands: this.commandSource() };
    for (const [kind, source] of this.sources) {
      const address = source();
      if (address !== undefined) out[kind] = address;
    }
    return out;
  }
}
