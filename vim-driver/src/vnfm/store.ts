import { z } from "zod";
import { parseWith, readJsonOrSetAside, writeFileAtomic, type Logger } from "@openiotfog/shared";
import { fogSpecToV1, parseFogSpec, readFogSpecV1, type FogSpec } from "../openbaton/fog-spec";

/**
 * What the VNF manager must not forget when its process restarts: per VNF record, the dependency values MODIFY
 * brought (START may come after a restart, and the containers must run with them), the env each VNFC runs with,
 * the fog spec its VNFCs were launched with (HEAL re-places from it), the VIM per VDU and the last record (fault
 * reports name it). The NFVO keeps the rest; it never sends those again.
 */
const storedVnfrFileSchema = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    nsrId: z.string().optional(),
    env: z.record(z.string()),
    /** vc_id → the env fingerprint its container runs with. */
    applied: z.record(z.string()),
    started: z.boolean(),
    vnfr: z.record(z.unknown()),
    /** The fog spec as v1 JSON (openbaton/fog-spec.ts), validated when read. */
    spec: z.record(z.unknown()).optional(),
    /** Files written before the spec was kept as such: the userdata string the VNFCs were launched with. */
    userdata: z.string().optional(),
    vims: z.record(z.record(z.unknown())),
  })
  .strict();

/** One record as the manager keeps it across restarts. */
export type StoredVnfr = Omit<z.infer<typeof storedVnfrFileSchema>, "spec" | "userdata"> & { spec?: FogSpec };

const stateFileSchema = z.object({ version: z.literal(1), records: z.array(storedVnfrFileSchema) }).strict();

export interface VnfmStateStore {
  load(): StoredVnfr[];
  save(records: StoredVnfr[]): Promise<void>;
}

/**
 * One JSON file, written atomically (writeFileAtomic: a crash mid-write leaves the previous state) and readable by
 * the driver's user only (it holds fog specs and environment values). A file that cannot be read is moved aside
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
      (raw) =>
        parseWith(stateFileSchema, raw, `VNFM state file ${this.file}`).records.map(
          ({ spec, userdata, ...r }): StoredVnfr => {
            const source = `VNFM state file ${this.file}: spec of record ${r.id}`;
            const read = spec !== undefined ? readFogSpecV1(spec, source) : parseFogSpec(userdata ?? "");
            return read === undefined ? r : { ...r, spec: read };
          },
        ),
      this.logger,
      "the VNFM starts without stored records",
    );
    if (records !== undefined)
      this.logger.info("VNFM state loaded", { file: this.file, records: records.length });
    return records ?? [];
  }

  save(records: StoredVnfr[]): Promise<void> {
    const file = records.map(({ spec, ...r }) =>
      spec === undefined ? r : { ...r, spec: fogSpecToV1(spec) },
    );
    return writeFileAtomic(this.file, JSON.stringify({ version: 1, records: file }));
  }
}
