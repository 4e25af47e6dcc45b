import { z } from "zod";
import { parseWith, readJsonOrSetAside, writeFileAtomic, type Logger } from "@openiotfog/shared";

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
  save(records: StoredVnfr[]): Promise<void>;
}

/**
 * One JSON file, written atomically (writeFileAtomic: a crash mid-write leaves the previous state) and readable by
 * the driver's user only (it holds userdata and environment values). A file that cannot be read is moved aside
 * and logged, and the manager starts empty: a bad file must not keep the driver from serving.
 */
export class FileVnfmStateStore implements VnfmStateStore {
  constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {}

  load(): StoredVnfr[] {
    const records = readJsonOrSetAside(
      this.file,
      (raw) => parseWith(stateFileSchema, raw, `VNFM state file ${this.file}`).records,
      this.logger,
      "the VNFM starts without stored records",
    );
    if (records !== undefined)
      this.logger.info("VNFM state loaded", { file: this.file, records: records.length });
    return records ?? [];
  }

  save(records: StoredVnfr[]): Promise<void> {
    return writeFileAtomic(this.file, JSON.stringify({ version: 1, records }));
  }
}
