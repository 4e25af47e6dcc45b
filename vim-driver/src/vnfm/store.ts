import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { errorMessage, parseWith, type Logger } from "@openiotfog/shared";

/**
 * What the VNF manager must not forget when its process restarts: per VNF record, the dependency values MODIFY
 * brought (START may come after a restart, and the containers must run with them), the env each VNFC runs with,
 * the userdata its VNFCs were launched with (HEAL re-places from it), the VIM per VDU and the last record (fault
 * reports name it). The NFVO keeps the rest; it never sends those again.
 */
export const storedVnfrSchema = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    nsrId: z.string().optional(),
    env: z.record(z.string()),
    /** vc_id → the env fingerprint its container runs with. */
    applied: z.record(z.string()),
    started: z.boolean(),
    vnfr: z.record(z.unknown()),
    userdata: z.string().optional(),
    vims: z.record(z.record(z.unknown())),
  })
  .strict();
export type StoredVnfr = z.infer<typeof storedVnfrSchema>;

const stateFileSchema = z.object({ version: z.literal(1), records: z.array(storedVnfrSchema) }).strict();

export interface VnfmStateStore {
  load(): StoredVnfr[];
  save(records: StoredVnfr[]): void;
}

/**
 * One JSON file, replaced atomically (write to a temporary file, then rename) so a crash mid-write leaves the
 * previous state. A file that cannot be read is moved aside (`.unreadable-<time>`) and logged, and the manager
 * starts empty: a bad file must not keep the driver from serving.
 */
export class FileVnfmStateStore implements VnfmStateStore {
  constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {}

  load(): StoredVnfr[] {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    try {
      const records = parseWith(stateFileSchema, JSON.parse(text), `VNFM state file ${this.file}`).records;
      this.logger.info("VNFM state loaded", { file: this.file, records: records.length });
      return records;
    } catch (e) {
      const aside = `${this.file}.unreadable-${Date.now()}`;
      renameSync(this.file, aside);
      this.logger.error("VNFM state file unreadable: moved aside, starting empty", {
        file: this.file,
        movedTo: aside,
        error: errorMessage(e),
      });
      return [];
    }
  }

  save(records: StoredVnfr[]): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    // Records hold userdata and environment values: readable by the driver's user only.
    writeFileSync(tmp, JSON.stringify({ version: 1, records }), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
