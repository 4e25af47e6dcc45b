import path from "node:path";
import { z } from "zod";
import {
  deployResultSchema,
  deviceAssignmentSchema,
  networkAttachmentSchema,
  serviceSpecSchema,
  deploymentIdSchema,
  type Logger,
  readJsonOrSetAside,
  writeFileAtomic,
} from "@openiotfog/shared";
import { ownedBy } from "./ownership";

/**
 * Offline-first desired state: every deployment this node was asked to run, with everything needed to
 * re-create its container without asking anyone (spec, devices, networks). Written atomically on every change.
 */
export const STATE_VERSION = 1 as const;

/** One deployment as this node keeps it (not the driver's fleet-wide DeploymentRecord of vim-driver/src/fleet). */
export const savedDeploymentSchema = z
  .object({
    deploymentId: deploymentIdSchema,
    spec: serviceSpecSchema,
    replica: z.number().int().nonnegative(),
    devices: z.array(deviceAssignmentSchema),
    networks: z.array(networkAttachmentSchema).optional(),
    desired: z.enum(["running", "stopped"]),
    containerName: z.string(),
    /** Hash of the deploy request: a repeat with the same hash is a retry, a different one a conflict. */
    fingerprint: z.string(),
    createdAt: z.number().int(),
    /** The reply to the first deploy, returned verbatim to retries. Absent while the first deploy is running. */
    firstResult: deployResultSchema.optional(),
    /**
     * Set when the agent fenced the replica itself (cut off from the fleet longer than its `fence_after`): it
     * stays stopped until the driver starts it (fencing/fencing.ts). Cleared by `start`.
     */
    fencedAt: z.number().int().optional(),
  })
  .strict();
export type SavedDeployment = z.infer<typeof savedDeploymentSchema>;

const stateSchema = z
  .object({
    v: z.literal(STATE_VERSION),
    nodeId: z.string(),
    deployments: z.record(savedDeploymentSchema),
  })
  .strict();

export class StateStore {
  readonly file: string;
  private deployments = new Map<string, SavedDeployment>();
  private writing: Promise<void> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {
    this.file = path.join(dataDir, "state.json");
  }

  /**
   * Reads the state file. A missing file is a fresh node. An unreadable one is moved aside (kept for a human)
   * and the agent starts empty rather than refusing to run: its containers keep running under Docker either way.
   */
  load(): void {
    const parsed = readJsonOrSetAside(
      this.file,
      (raw) => ownedBy(this.nodeId, stateSchema.parse(raw)),
      this.logger,
      "starting with no desired state",
    );
    if (parsed !== undefined) this.deployments = new Map(Object.entries(parsed.deployments));
  }

  get(id: string): SavedDeployment | undefined {
    return this.deployments.get(id);
  }

  all(): SavedDeployment[] {
    return [...this.deployments.values()];
  }

  async put(record: SavedDeployment): Promise<void> {
    this.deployments.set(record.deploymentId, record);
    await this.persist();
  }

  async delete(id: string): Promise<void> {
    if (this.deployments.delete(id)) await this.persist();
  }

  /** Writes are serialised, and each writes the latest state, so the file never goes backwards. */
  private persist(): Promise<void> {
    const next = this.writing.then(() =>
      writeFileAtomic(
        this.file,
        JSON.stringify({
          v: STATE_VERSION,
          nodeId: this.nodeId,
          deployments: Object.fromEntries(this.deployments),
        }),
      ),
    );
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every write so far is on disk. */
  flush(): Promise<void> {
    return this.writing;
  }
}
