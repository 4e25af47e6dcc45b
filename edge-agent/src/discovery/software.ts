import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { errorMessage, type Logger, type Software } from "@openiotfog/shared";
import type { SoftwareProbe } from "../config";

const DEFAULT_PATTERN = /(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?)/;

function extractVersion(text: string, pattern: string | undefined): string | undefined {
  const m = (pattern === undefined ? DEFAULT_PATTERN : new RegExp(pattern)).exec(text);
  if (m === null) return undefined;
  return (m[1] ?? m[0]).trim() || undefined;
}

function run(command: string[]): Promise<string> {
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    execFile(file ?? "", args, { timeout: 5000, maxBuffer: 256 * 1024 }, (err, stdout, stderr) => {
      // Many tools print their version on stderr, some exit non-zero for --version: use whatever text came back.
      const text = `${stdout}\n${stderr}`;
      if (err && text.trim() === "") reject(err instanceof Error ? err : new Error("command failed"));
      else resolve(text);
    });
  });
}

/** Installed software the operator listed, each with the version its probe reports; probes that fail are left out. */
export async function fingerprintSoftware(
  probes: readonly SoftwareProbe[],
  logger?: Logger,
): Promise<Software[]> {
  const out: Software[] = [];
  for (const probe of probes) {
    try {
      let version: string | undefined;
      if (probe.version !== undefined) version = probe.version;
      else if (probe.command !== undefined) version = extractVersion(await run(probe.command), probe.pattern);
      else if (probe.file !== undefined)
        version = extractVersion(await readFile(probe.file, "utf8"), probe.pattern);
      if (version === undefined) {
        logger?.warn("software probe found no version", { name: probe.name });
        continue;
      }
      out.push({ name: probe.name, version });
    } catch (e) {
      logger?.warn("software probe failed", { name: probe.name, error: errorMessage(e) });
    }
  }
  return out;
}
