import { readFile, readdir, readlink, realpath, stat } from "node:fs/promises";
import path from "node:path";

/**
 * Read-only access to a sysfs tree and a /dev tree under configurable roots, so the same discovery code runs on
 * a node (/sys, /dev) and over fixture trees in tests. Paths reported to the outside are logical (`/dev/ttyUSB0`)
 * whatever the root: that is what the container runtime needs.
 */
export class HostTree {
  constructor(
    readonly sysRoot: string,
    readonly devRoot: string,
  ) {}

  sys(...parts: string[]): string {
    return path.join(this.sysRoot, ...parts);
  }

  dev(...parts: string[]): string {
    return path.join(this.devRoot, ...parts);
  }

  /** `/dev/<relative>` for a path under devRoot. */
  logicalDev(absolute: string): string {
    return path.posix.join("/dev", path.relative(this.devRoot, absolute).split(path.sep).join("/"));
  }

  /** Whether a path is inside the sysfs root (walks upward stop there). */
  insideSys(absolute: string): boolean {
    const rel = path.relative(this.sysRoot, absolute);
    return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
  }
}

/** A sysfs attribute, trimmed; undefined when absent or unreadable. */
export async function readAttr(dir: string, name: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path.join(dir, name), "utf8")).trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Directory entries, or none when the directory does not exist (a machine without that bus). */
export async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

export async function resolve(p: string): Promise<string | undefined> {
  try {
    return await realpath(p);
  } catch {
    return undefined;
  }
}

export async function linkTarget(p: string): Promise<string | undefined> {
  try {
    return await readlink(p);
  } catch {
    return undefined;
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
