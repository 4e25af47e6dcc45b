import { errorMessage, type Component, type Logger } from "@openiotfog/shared";
import {
  DEPLOYMENT_LABEL,
  REPLICA_LABEL,
  SERVICE_LABEL,
  type ContainerRuntime,
  type ContainerUsage,
} from "../runtime/runtime";

/** The latest reading of one of this node's running containers. */
export interface ContainerSample {
  containerId: string;
  containerName: string;
  deploymentId: string;
  service: string;
  replica: string;
  usage: ContainerUsage;
  /** Cores busy on average between the last two readings (1.0 = one core); absent after the first. */
  cpuCores?: number;
  /** Epoch ms of the reading. */
  at: number;
}

export interface ContainerUsageOptions {
  intervalMs: number;
  timeoutMs: number;
  maxContainers: number;
}

/**
 * Reads the resource use of this node's running containers on an interval, one container at a time (one
 * inspect and one one-shot stats call each), and keeps the latest reading per container. Scrapes, heartbeats
 * and the REST API read what it kept, so the engine sees the same load however often anyone asks.
 */
export class ContainerUsageSampler implements Component {
  readonly name = "container-usage";
  private readonly samples = new Map<string, ContainerSample>();
  /** Called after each scheduled pass (the usage report publishes what the pass read). */
  onPass: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private warned = false;
  private stopped = false;

  constructor(
    private readonly runtime: Pick<ContainerRuntime, "listContainers" | "containerUsage">,
    private readonly opts: ContainerUsageOptions,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    if (this.opts.intervalMs <= 0 || this.runtime.containerUsage === undefined) return;
    const scheduled = (): void => void this.sample().then(() => this.onPass?.());
    this.timer = setInterval(scheduled, this.opts.intervalMs);
    // The first reading in the background: the agent's start-up does not wait for the engine.
    scheduled();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.pass;
  }

  /** The latest reading of every running container, by container name. */
  current(): ContainerSample[] {
    // Code-unit order, not localeCompare: the first locale comparison instantiates an ICU collator, 2.5 MiB of
    // an agent's resident memory for good (measured).
    return [...this.samples.values()].sort((a, b) =>
      a.containerName < b.containerName ? -1 : a.containerName > b.containerName ? 1 : 0,
    );
  }

  /** One pass over the running containers (a pass still running is joined, never doubled). */
  sample(): Promise<void> {
    this.pass ??= this.readAll().finally(() => (this.pass = undefined));
    return this.pass;
  }

  private async readAll(): Promise<void> {
    const read = this.runtime.containerUsage?.bind(this.runtime);
    if (read === undefined) return;
    let running;
    try {
      running = (await this.runtime.listContainers()).filter((c) => c.state === "running");
    } catch (e) {
      this.warnOnce(e);
      return;
    }
    const seen = new Set<string>();
    for (const c of running.slice(0, this.opts.maxContainers)) {
      if (this.stopped) break;
      let usage: ContainerUsage | undefined;
      try {
        usage = await read(c.id, this.opts.timeoutMs);
      } catch (e) {
        this.warnOnce(e);
        continue;
      }
      if (usage === undefined) continue;
      seen.add(c.id);
      const at = Date.now();
      const before = this.samples.get(c.id);
      const sample: ContainerSample = {
        containerId: c.id,
        containerName: c.name,
        deploymentId: c.labels[DEPLOYMENT_LABEL] ?? "",
        service: c.labels[SERVICE_LABEL] ?? "",
        replica: c.labels[REPLICA_LABEL] ?? "",
        usage,
        at,
      };
      if (before !== undefined && at > before.at && usage.cpuSeconds >= before.usage.cpuSeconds) {
        sample.cpuCores = (usage.cpuSeconds - before.usage.cpuSeconds) / ((at - before.at) / 1000);
      }
      this.samples.set(c.id, sample);
    }
    for (const id of [...this.samples.keys()]) if (!seen.has(id)) this.samples.delete(id);
    this.warned = false;
  }

  private warnOnce(e: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn("cannot read container usage; retrying every interval", { error: errorMessage(e) });
  }
}
