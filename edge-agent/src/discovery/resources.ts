import os from "node:os";
import { statfs } from "node:fs/promises";
import { errorMessage, type Logger } from "@openiotfog/shared";

/** CPU cores and nominal clock (MHz) as the kernel reports them. */
export function fingerprintCpu(): { cores: number; mhz?: number } {
  const cpus = os.cpus();
  const cores = Math.max(
    1,
    typeof os.availableParallelism === "function" ? os.availableParallelism() : cpus.length,
  );
  const mhz = Math.max(0, ...cpus.map((c) => c.speed));
  return mhz > 0 ? { cores, mhz } : { cores };
}

/** Total and available memory (the kernel's MemAvailable, which counts reclaimable cache as free). */
export function fingerprintMemory(): { totalBytes: number; freeBytes: number } {
  return { totalBytes: os.totalmem(), freeBytes: os.freemem() };
}

export function fingerprintLoad(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = os.loadavg();
  return [a, b, c];
}

/** Size and free space of the filesystem holding `dir` (the container storage). Zeroes when unreadable. */
export async function fingerprintDisk(
  dir: string,
  logger?: Logger,
): Promise<{ totalBytes: number; freeBytes: number; path: string }> {
  try {
    const s = await statfs(dir);
    return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize, path: dir };
  } catch (e) {
    logger?.warn("cannot read disk size", { path: dir, error: errorMessage(e) });
    return { totalBytes: 0, freeBytes: 0, path: dir };
  }
}
