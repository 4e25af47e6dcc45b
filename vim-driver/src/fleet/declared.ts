import { z } from "zod";
import {
  IotFogError,
  errorMessage,
  parseWith,
  readJsonOrSetAside,
  serviceResourcesSchema,
  serviceSpecSchema,
  writeFileAtomic,
  type Logger,
} from "@openiotfog/shared";

/**
 * Declared state: what the operator asked for (a deployment's services, replicas, constraints) and where this
 * driver placed each replica, with the placement history; plus the removals owed to nodes that were offline
 * (tombstones). It is the driver side's memory: it survives a restart, while what runs (observed state) is
 * always asked again from the agents. docs/self-healing.md describes the model.
 */

const nonEmpty = z.string().min(1, "must not be empty");

export const declaredReplicaSchema = z
  .object({
    service: nonEmpty,
    replica: z.number().int().nonnegative(),
    /** The node the replica is placed on. */
    nodeId: nonEmpty,
    /** The id the agent knows it by (and the container's `org.openiotfog.deployment` label). */
    agentDeploymentId: nonEmpty,
    image: nonEmpty,
    devices: z.array(z.object({ deviceId: nonEmpty, hostPath: nonEmpty, containerPath: nonEmpty }).strict()),
    resources: serviceResourcesSchema,
    exclusiveDevices: z.array(nonEmpty),
    sharedDevices: z.array(nonEmpty),
    /** Epoch ms of the placement. */
    placedAt: z.number(),
  })
  .strict();
export type DeclaredReplica = z.infer<typeof declaredReplicaSchema>;

export const placementChangeSchema = z
  .object({
    at: z.number(),
    service: nonEmpty,
    replica: z.number().int().nonnegative(),
    nodeId: nonEmpty,
    /** `placed`: first placement; `replaced`: moved to this node; `released`: left this node. */
    action: z.enum(["placed", "replaced", "released"]),
    reason: z.string().optional(),
  })
  .strict();
export type PlacementChange = z.infer<typeof placementChangeSchema>;

/** How many placement changes a deployment keeps (the newest). */
export const HISTORY_LIMIT = 50;

export const declaredDeploymentSchema = z
  .object({
    id: nonEmpty,
    createdAt: z.number(),
    /** The services as the operator declared them (replicas, constraints, devices), in dependency order. */
    specs: z.array(serviceSpecSchema).min(1),
    replicas: z.array(declaredReplicaSchema),
    history: z.array(placementChangeSchema).max(HISTORY_LIMIT),
  })
  .strict();
export type DeclaredDeployment = z.infer<typeof declaredDeploymentSchema>;

/** A removal owed to a node that was offline or did not answer: paid when the node is live again. */
export const tombstoneSchema = z
  .object({
    nodeId: nonEmpty,
    agentDeploymentId: nonEmpty,
    since: z.number(),
    reason: z.string(),
  })
  .strict();
export type Tombstone = z.infer<typeof tombstoneSchema>;

export const declaredStateSchema = z
  .object({
    version: z.literal(1),
    deployments: z.array(declaredDeploymentSchema),
    tombstones: z.array(tombstoneSchema),
  })
  .strict();
export type DeclaredStateDocument = z.infer<typeof declaredStateSchema>;

/**
 * Where declared state is kept. The whole document is read once at start and written after every change: at a
 * fog site's size (tens of deployments) that is a few kilobytes. A store shared by several drivers (an etcd- or
 * database-backed one) implements the same two calls.
 */
export interface DeclaredStateStore {
  load(): DeclaredStateDocument;
  save(state: DeclaredStateDocument): Promise<void>;
}

const EMPTY: DeclaredStateDocument = { version: 1, deployments: [], tombstones: [] };

/** For tests and for a driver that is told to keep nothing: lives as long as the process. */
export class MemoryDeclaredStateStore implements DeclaredStateStore {
  private state: DeclaredStateDocument;
  saves = 0;

  constructor(initial: DeclaredStateDocument = EMPTY) {
    this.state = structuredClone(initial);
  }

  load(): DeclaredStateDocument {
    return structuredClone(this.state);
  }

  async save(state: DeclaredStateDocument): Promise<void> {
    this.state = structuredClone(state);
    this.saves++;
  }
}

/**
 * One JSON file, replaced atomically (writeFileAtomic: a crash mid-write leaves the previous state), readable by
 * the driver's user only (specs carry environment values). An unreadable file is moved aside and logged, and the
 * driver starts with nothing declared: a bad file must not keep the driver from serving.
 */
export class FileDeclaredStateStore implements DeclaredStateStore {
  constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {}

  load(): DeclaredStateDocument {
    const state = readJsonOrSetAside(
      this.file,
      (raw) => parseWith(declaredStateSchema, raw, `declared state file ${this.file}`),
      this.logger,
      "the driver starts with no declared deployments",
    );
    if (state !== undefined)
      this.logger.info("declared state loaded", {
        file: this.file,
        deployments: state.deployments.length,
        tombstones: state.tombstones.length,
      });
    return state ?? structuredClone(EMPTY);
  }

  save(state: DeclaredStateDocument): Promise<void> {
    return writeFileAtomic(this.file, JSON.stringify(state));
  }
}

/**
 * Declared state in memory over a store: reads are synchronous, every change is written before the promise it
 * returns resolves, and writes go out one at a time in the order of the changes (each writes the whole state as
 * it is then, so the file never goes back in time).
 */
export class DeclaredState {
  private readonly byId = new Map<string, DeclaredDeployment>();
  private tombstoneList: Tombstone[];
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: DeclaredStateStore,
    private readonly logger: Logger,
  ) {
    const loaded = store.load();
    for (const d of loaded.deployments) this.byId.set(d.id, d);
    this.tombstoneList = loaded.tombstones;
  }

  deployments(): DeclaredDeployment[] {
    return [...this.byId.values()].map((d) => structuredClone(d));
  }

  get(id: string): DeclaredDeployment | undefined {
    const d = this.byId.get(id);
    return d === undefined ? undefined : structuredClone(d);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Declares (or re-declares) a deployment. */
  put(d: DeclaredDeployment): Promise<void> {
    const copy = structuredClone(d);
    if (copy.history.length > HISTORY_LIMIT) copy.history = copy.history.slice(-HISTORY_LIMIT);
    this.byId.set(copy.id, copy);
    return this.persist();
  }

  delete(id: string): Promise<void> {
    if (!this.byId.delete(id)) return Promise.resolve();
    return this.persist();
  }

  tombstones(): Tombstone[] {
    return this.tombstoneList.map((t) => ({ ...t }));
  }

  /** Owes a removal to a node: one per node and agent id, with the first `since` and the latest reason. */
  addTombstone(t: Tombstone): Promise<void> {
    const known = this.tombstoneList.find(
      (x) => x.nodeId === t.nodeId && x.agentDeploymentId === t.agentDeploymentId,
    );
    if (known?.reason === t.reason) return Promise.resolve();
    if (known === undefined) this.tombstoneList.push({ ...t });
    else known.reason = t.reason;
    return this.persist();
  }

  removeTombstone(nodeId: string, agentDeploymentId: string): Promise<void> {
    const before = this.tombstoneList.length;
    this.tombstoneList = this.tombstoneList.filter(
      (t) => !(t.nodeId === nodeId && t.agentDeploymentId === agentDeploymentId),
    );
    return this.tombstoneList.length === before ? Promise.resolve() : this.persist();
  }

  /** Resolves once every change made so far is written. */
  flushed(): Promise<void> {
    return this.writing;
  }

  private persist(): Promise<void> {
    const write = this.writing.then(async () => {
      const state: DeclaredStateDocument = {
        version: 1,
        deployments: [...this.byId.values()],
        tombstones: this.tombstoneList,
      };
      try {
        await this.store.save(state);
      } catch (e) {
        this.logger.error("cannot write the declared state", { error: errorMessage(e) });
        throw new IotFogError(
          "RUNTIME_ERROR",
          `cannot write the declared state: ${errorMessage(e)}`,
          undefined,
          {
            cause: e,
          },
        );
      }
    });
    // A failed write fails its own caller; the next change writes the whole state again.
    this.writing = write.catch(() => undefined);
    return write;
  }
}
