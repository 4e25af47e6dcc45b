import { readFileSync, renameSync } from "node:fs";
import { open, rename, mkdir, unlink } from "node:fs/promises";
import path from "node:path";
import { errorMessage } from "./errors";
import type { Logger } from "./logging";

/**
 * Writes a file so that after a crash or power loss it holds either the old or the new content, never a torn
 * mix: write a temporary file, fsync it, rename it over the target, fsync the directory (the rename itself).
 */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const handle = await open(tmp, "w", 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (e) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await handle.close();
  await rename(tmp, file);
  const dirHandle = await open(dir, "r");
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/**
 * Reads a JSON state file (the agent's data directory, the VNFM's state file), checked by `parse` (which throws
 * on anything wrong, e.g. another node's file). A missing file is undefined: a fresh start. An unreadable one is
 * moved aside (`<file>.unreadable-<ts>`, kept for a human), logged with `consequence`, and undefined is returned:
 * the process runs without it rather than refusing to start, since what it manages keeps running either way.
 */
export function readJsonOrSetAside<T>(
  file: string,
  parse: (raw: unknown) => T,
  logger: Logger,
  consequence: string,
): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return parse(JSON.parse(text));
  } catch (e) {
    const aside = `${file}.unreadable-${Date.now()}`;
    renameSync(file, aside);
    logger.error(`${path.basename(file)} unreadable, moved aside; ${consequence}`, {
      file,
      movedTo: aside,
      error: errorMessage(e),
    });
    return undefined;
  }
}
