import path from "node:path";
import { z } from "zod";
import {
  IotFogError,
  labelKeySchema,
  labelValueSchema,
  type Component,
  type LabelsChange,
  type LabelsSetResult,
  type Logger,
  readJsonOrSetAside,
  writeFileAtomic,
} from "@openiotfog/shared";
import { ownedBy } from "../state/ownership";

/**
 * Operator labels set at run time (`labels.set`, pushed by `iotfog node label`): a layer over the config's
 * `labels`, kept in `<dataDir>/labels.json` so it survives restarts and reboots. Precedence: the config's
 * labels, minus the keys operators removed, plus the values operators set (an operator's value wins over the
 * config's). A removal is remembered, so a config label an operator removed stays removed after a restart
 * until an operator sets that key again.
 */
export const LABELS_FILE_VERSION = 1 as const;

/** At most this many labels on a node (config and operators together). */
export const MAX_NODE_LABELS = 128;

export interface OperatorLabelLayer {
  set: Record<string, string>;
  /** Keys removed by operators (hides a config label of that key). */
  removed: string[];
}

const labelsFileSchema = z
  .object({
    v: z.literal(LABELS_FILE_VERSION),
    nodeId: z.string(),
    set: z.record(labelKeySchema, labelValueSchema),
    removed: z.array(labelKeySchema),
  })
  .strict();

/**
 * The node's labels: config (in its order), minus what operators removed, plus what they set (an override keeps
 * the config key's place, new keys follow in key order).
 */
export function effectiveLabels(
  config: Readonly<Record<string, string>>,
  layer: OperatorLabelLayer,
): Record<string, string> {
  const out: Record<string, string> = {};
  const removed = new Set(layer.removed);
  for (const [k, v] of Object.entries(config)) if (!removed.has(k)) out[k] = v;
  return { ...out, ...layer.set };
}

/** The layer after a change; `set` cancels an earlier removal of the key, `remove` drops a set value. */
export function applyLabelChange(layer: OperatorLabelLayer, change: LabelsChange): OperatorLabelLayer {
  const set = { ...layer.set, ...change.set };
  const removed = new Set(layer.removed.filter((k) => !(k in change.set)));
  for (const k of change.remove) {
    delete set[k];
    removed.add(k);
  }
  return { set: sortedRecord(set), removed: [...removed].sort() };
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
}

function sameLayer(a: OperatorLabelLayer, b: OperatorLabelLayer): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Owns the operators' label layer: loads it before capability discovery (so the first capability document
 * already carries it), applies changes one at a time, writes each atomically before it takes effect, and hands
 * the resulting labels to `onLabels` (the capability service, which republishes them).
 */
export class OperatorLabels implements Component {
  readonly name = "operator-labels";
  readonly file: string;
  private layer: OperatorLabelLayer = { set: {}, removed: [] };
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly nodeId: string,
    private readonly configLabels: Readonly<Record<string, string>>,
    private readonly onLabels: (labels: Record<string, string>) => void,
    private readonly logger: Logger,
  ) {
    this.file = path.join(dataDir, "labels.json");
  }

  async start(): Promise<void> {
    this.load();
    this.onLabels(this.labels());
  }

  async stop(): Promise<void> {
    await this.queue;
  }

  /** The node's labels now. */
  labels(): Record<string, string> {
    return effectiveLabels(this.configLabels, this.layer);
  }

  /** Applies a change (validated params of `labels.set`); resolves once it is on disk and in effect. */
  change(change: LabelsChange): Promise<LabelsSetResult> {
    const run = this.queue.then(() => this.apply(change));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(change: LabelsChange): Promise<LabelsSetResult> {
    const next = applyLabelChange(this.layer, change);
    const labels = effectiveLabels(this.configLabels, next);
    if (Object.keys(labels).length > MAX_NODE_LABELS) {
      throw new IotFogError(
        "BAD_REQUEST",
        `field "set": the node would have ${Object.keys(labels).length} labels, at most ${MAX_NODE_LABELS} are allowed`,
      );
    }
    const changed = !sameLayer(next, this.layer);
    if (changed) {
      // On disk before in effect: a label an operator was told is set survives a power cut right after.
      await writeFileAtomic(
        this.file,
        `${JSON.stringify({ v: LABELS_FILE_VERSION, nodeId: this.nodeId, ...next }, null, 2)}\n`,
      );
      this.layer = next;
      this.logger.info("operator labels changed", { labels, set: change.set, remove: change.remove });
      this.onLabels(labels);
    }
    return { labels, operator: structuredClone(this.layer), changed };
  }

  /** Reads the layer; a missing file means no operator changes, an unreadable one is set aside. */
  private load(): void {
    const parsed = readJsonOrSetAside(
      this.file,
      (raw) => ownedBy(this.nodeId, labelsFileSchema.parse(raw)),
      this.logger,
      "using the config's labels",
    );
    if (parsed === undefined) return;
    this.layer = { set: parsed.set, removed: parsed.removed };
    this.logger.info("operator labels loaded", { file: this.file, labels: this.labels() });
  }
}
