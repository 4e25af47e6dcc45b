import { createHash } from "node:crypto";
import path from "node:path";
import { z } from "zod";
import { IotFogError, parseWith, type ExpectedImage } from "@openiotfog/shared";

/**
 * Checks a staged `docker save` tarball against the image the driver expects (its id, from the node it is copied
 * from, over the authenticated command channel) BEFORE Docker sees it: `docker load` tags whatever the tarball's
 * manifest names at once, so a check after the load would come after an existing tag was already moved.
 *
 * Docker's image id is the sha256 of the image's config, and `docker load` checks every layer against the
 * config's diff ids; so a tarball whose manifest names exactly one image, whose config hashes to the expected id
 * and whose tags are at most the tag being copied can only load that image under that tag. The reader is strict
 * where Docker's tar reader and ours could disagree on what the archive holds: one entry per (normalised) name,
 * only files and directories (plus the layer symlinks `docker save` writes for shared layers), checksummed headers.
 */

/** Reads `length` bytes at `position` (fewer only at the end of the file). */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

interface TarEntry {
  name: string;
  type: "file" | "dir" | "symlink";
  offset: number;
  size: number;
}

const BLOCK = 512;
const MAX_JSON_BYTES = 8 * 1024 * 1024;
const MAX_ENTRIES = 100_000;

const manifestSchema = z
  .array(
    z
      .object({
        Config: z.string().min(1),
        RepoTags: z.array(z.string()).nullable().optional(),
        Layers: z.array(z.string()),
      })
      // Parent and LayerSources (foreign layers Docker would fetch from URLs) are refused with the unknown keys.
      .strict(),
  )
  .length(1, "must name exactly one image");

function rejected(field: string, message: string, details: Record<string, unknown> = {}): IotFogError {
  return new IotFogError("IMAGE_REJECTED", `image tarball refused: ${field}: ${message}`, {
    field,
    ...details,
  });
}

/** `repo` → `repo:latest`, as Docker names a tag given without one. */
export function withDefaultTag(ref: string): string {
  const slash = ref.lastIndexOf("/");
  return ref.slice(slash + 1).includes(":") || ref.includes("@") ? ref : `${ref}:latest`;
}

export async function checkImageTarball(readAt: ReadAt, expected: ExpectedImage): Promise<void> {
  const entries = await listEntries(readAt);
  const manifestEntry = entries.get("manifest.json");
  if (manifestEntry?.type !== "file") throw rejected("manifest.json", "missing or not a regular file");
  const manifestBytes = await readEntry(readAt, manifestEntry, "manifest.json");
  let raw: unknown;
  try {
    raw = JSON.parse(manifestBytes.toString("utf8"));
  } catch {
    throw rejected("manifest.json", "not JSON");
  }
  let item: z.infer<typeof manifestSchema>[number];
  try {
    item = parseWith(manifestSchema, raw, "manifest.json")[0]!;
  } catch (e) {
    throw rejected("manifest.json", (e as Error).message);
  }
  const allowed = expected.tag === undefined ? undefined : withDefaultTag(expected.tag);
  const strayTags = (item.RepoTags ?? []).filter((t) => withDefaultTag(t) !== allowed);
  if (strayTags.length > 0) {
    throw rejected("RepoTags", `names ${strayTags.join(", ")}; only ${allowed ?? "no tag"} may be loaded`, {
      tags: strayTags,
    });
  }
  const configName = normalise(item.Config);
  const configEntry = configName === undefined ? undefined : entries.get(configName);
  if (configEntry?.type !== "file")
    throw rejected("Config", `${item.Config} is missing or not a regular file`);
  const config = await readEntry(readAt, configEntry, "Config");
  const actual = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  if (actual !== expected.imageId) {
    throw rejected("Config", `the image id is ${actual}, expected ${expected.imageId}`, {
      expected: expected.imageId,
      actual,
    });
  }
}

async function readEntry(readAt: ReadAt, e: TarEntry, field: string): Promise<Buffer> {
  if (e.size > MAX_JSON_BYTES) throw rejected(field, `${e.size} bytes is larger than ${MAX_JSON_BYTES}`);
  const bytes = await readAt(e.offset, e.size);
  if (bytes.length !== e.size) throw rejected(field, "truncated");
  return bytes;
}

/** `./a//b/` → `a/b`; undefined for names that leave the archive (absolute, `..`) or are empty. */
function normalise(name: string): string | undefined {
  if (name.startsWith("/")) return undefined;
  const n = path.posix.normalize(name).replace(/\/+$/, "");
  if (n === "" || n === "." || n === ".." || n.startsWith("../")) return undefined;
  return n;
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? raw.length : nul).toString("utf8");
}

function numeric(header: Buffer, start: number, length: number, what: string): number {
  const raw = header.subarray(start, start + length);
  if ((raw[0]! & 0x80) !== 0) {
    // GNU base-256 (sizes of 8 GiB and more).
    let n = raw[0]! & 0x7f;
    for (let i = 1; i < raw.length; i++) n = n * 256 + raw[i]!;
    if (!Number.isSafeInteger(n)) throw rejected("tar", `${what} too large`);
    return n;
  }
  const text = field(header, start, length).trim();
  if (!/^[0-7]*$/.test(text)) throw rejected("tar", `${what} is not octal`);
  return text === "" ? 0 : parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = numeric(header, 148, 8, "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : header[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** PAX records (`<len> key=value\n`): only path, linkpath and size change what an entry is; sparse files are refused. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = space === -1 ? NaN : Number(data.subarray(at, space).toString("ascii"));
    if (!Number.isSafeInteger(len) || len <= 0 || at + len > data.length)
      throw rejected("tar", "bad PAX record");
    const record = data.subarray(space + 1, at + len - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq === -1) throw rejected("tar", "bad PAX record");
    const key = record.slice(0, eq);
    if (key.startsWith("GNU.sparse")) throw rejected("tar", "sparse entries are not accepted");
    out.set(key, record.slice(eq + 1));
    at += len;
  }
  return out;
}

async function listEntries(readAt: ReadAt): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  let at = 0;
  let pax: Map<string, string> | undefined;
  for (;;) {
    const header = await readAt(at, BLOCK);
    if (header.length < BLOCK) throw rejected("tar", "truncated archive (no end marker)");
    if (header.every((b) => b === 0)) return entries;
    if (!checksumOk(header)) throw rejected("tar", `bad header checksum at offset ${at}`);
    // Go's archive/tar (which Docker reads with) uses the prefix field for ustar/PAX headers, 131 bytes of it
    // for star's; GNU and v7 headers have none.
    const magic = header.subarray(257, 265).toString("latin1");
    const star = header.subarray(508, 512).toString("latin1") === "tar\0";
    const prefix = magic === "ustar\x0000" ? field(header, 345, star ? 131 : 155) : "";
    const name = field(header, 0, 100);
    const typeflag = String.fromCharCode(header[156]!);
    let size = numeric(header, 124, 12, "size");
    const dataAt = at + BLOCK;
    if (typeflag === "x") {
      if (size > MAX_JSON_BYTES) throw rejected("tar", "PAX header too large");
      pax = paxRecords(await readAt(dataAt, size));
      at = dataAt + Math.ceil(size / BLOCK) * BLOCK;
      continue;
    }
    const fullName = pax?.get("path") ?? (prefix === "" ? name : `${prefix}/${name}`);
    const linkName = pax?.get("linkpath") ?? field(header, 157, 100);
    if (pax?.has("size") === true) size = Number(pax.get("size"));
    pax = undefined;
    if (!Number.isSafeInteger(size) || size < 0) throw rejected("tar", `bad size for ${fullName}`);
    const normal = normalise(fullName);
    if (normal === undefined)
      throw rejected("tar", `entry name ${JSON.stringify(fullName)} leaves the archive`);
    let type: TarEntry["type"];
    if ((typeflag === "0" || typeflag === "\0") && !fullName.endsWith("/")) type = "file";
    else if (typeflag === "5") type = "dir";
    else if (
      typeflag === "2" &&
      /(^|\/)layer\.tar$/.test(normal) &&
      /^\.\.\/[^/]+\/layer\.tar$/.test(linkName)
    )
      type = "symlink";
    else throw rejected("tar", `entry ${normal} of type ${JSON.stringify(typeflag)} is not accepted`);
    if (entries.has(normal)) throw rejected("tar", `entry ${normal} appears twice`);
    if (entries.size >= MAX_ENTRIES) throw rejected("tar", `more than ${MAX_ENTRIES} entries`);
    entries.set(normal, { name: normal, type, offset: dataAt, size: type === "file" ? size : 0 });
    at = dataAt + (type === "file" ? Math.ceil(size / BLOCK) * BLOCK : 0);
  }
}
