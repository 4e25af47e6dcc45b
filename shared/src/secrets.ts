import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { IotFogError } from "./errors";

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/**
 * Compares a secret someone presented with the expected one in constant time. Both sides are hashed first so
 * the comparison runs over two 32-byte digests whatever their lengths: neither the content nor the length of
 * the expected secret leaks through timing (a length check before timingSafeEqual would leak the length).
 */
export function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Owner-only: a secret file any group or other user may read, write or run is refused, as ssh does. */
function checkSecretFileMode(file: string, mode: number): void {
  const loose = mode & 0o077;
  if (loose !== 0) {
    throw new IotFogError(
      "CONFIG_INVALID",
      `secret file ${file} has mode ${(mode & 0o777).toString(8).padStart(4, "0")}: ` +
        `group and other users must have no access; run \`chmod 600 ${file}\``,
      { file, mode: (mode & 0o777).toString(8) },
    );
  }
}

/** Reads a token or key file (trimmed), refusing one with group or world permissions. */
export function readSecretFileSync(file: string): string {
  checkSecretFileMode(file, statSync(file).mode);
  return readFileSync(file, "utf8").trim();
}

/** Reads a token or key file (trimmed), refusing one with group or world permissions. */
export async function readSecretFile(file: string): Promise<string> {
  checkSecretFileMode(file, (await stat(file)).mode);
  return (await readFile(file, "utf8")).trim();
}
