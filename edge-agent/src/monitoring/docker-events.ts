import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { Backoff, errorMessage, sleep, type Component, type Logger } from "@openiotfog/shared";
import type { EventBus } from "./bus";
import type { AgentEventInput } from "./events";

const NODE_LABEL = "org.openiotfog.node";
const DEPLOYMENT_LABEL = "org.openiotfog.deployment";

/** One line of Docker's event stream (the fields we read). */
interface DockerEvent {
  Type?: string;
  Action?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** A Docker container event as an agent event, or undefined for actions we do not report (exec, attach...). */
export function fromDockerEvent(e: DockerEvent): AgentEventInput | undefined {
  if (e.Type !== "container" || e.Action === undefined) return undefined;
  const attrs = e.Actor?.Attributes ?? {};
  const containerId = e.Actor?.ID ?? e.id;
  const name = attrs.name ?? containerId?.slice(0, 12) ?? "?";
  const base = {
    ...(containerId === undefined ? {} : { containerId }),
    ...(attrs[DEPLOYMENT_LABEL] === undefined ? {} : { deploymentId: attrs[DEPLOYMENT_LABEL] }),
  };
  const action = e.Action;
  if (action === "create")
    return { ...base, type: "container.created", message: `container ${name} created` };
  if (action === "start") return { ...base, type: "container.started", message: `container ${name} started` };
  if (action === "oom") {
    return { ...base, type: "container.oom", message: `container ${name} ran out of memory (OOM kill)` };
  }
  if (action === "die") {
    const exitCode = attrs.exitCode === undefined ? undefined : Number(attrs.exitCode);
    return {
      ...base,
      type: "container.died",
      severity: exitCode === 0 ? "info" : "warn",
      message: `container ${name} exited with code ${attrs.exitCode ?? "?"}`,
      data: exitCode === undefined || Number.isNaN(exitCode) ? {} : { exitCode },
    };
  }
  if (action.startsWith("health_status")) {
    const status = action.slice(action.indexOf(":") + 1).trim();
    return {
      ...base,
      type: "container.health",
      severity: status === "unhealthy" ? "warn" : "info",
      message: `container ${name} is ${status}`,
      data: { status },
    };
  }
  return undefined;
}

/**
 * Watches the engine's event stream for this node's containers (by node label) and raises lifecycle events.
 * The stream is reopened with backoff when the engine restarts; events in the gap are not replayed.
 */
export class ContainerEventWatcher implements Component {
  readonly name = "container-events";
  private stream: Readable | undefined;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly nodeId: string,
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // The first subscription is awaited so that events right after start-up are not missed; an engine that is
    // not up yet is retried in the background (the agent runs offline-first, with or without it).
    let first: Readable | undefined;
    try {
      first = await this.open();
    } catch (e) {
      this.logger.warn("container engine events not available yet; retrying", { error: errorMessage(e) });
    }
    this.loop = this.run(first);
  }

  private async open(): Promise<Readable> {
    const stream = (await this.docker.getEvents({
      filters: { type: ["container"], label: [`${NODE_LABEL}=${this.nodeId}`] },
    })) as Readable;
    this.stream = stream;
    return stream;
  }

  private async run(first: Readable | undefined): Promise<void> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 15000 });
    let stream: Readable | undefined = first;
    while (!this.abort.signal.aborted) {
      try {
        stream ??= await this.open();
        backoff.reset();
        await this.consume(stream);
      } catch (e) {
        if (!this.abort.signal.aborted) {
          this.logger.warn("container event stream failed", { error: errorMessage(e) });
        }
      }
      stream = undefined;
      if (!this.abort.signal.aborted) await sleep(backoff.next(), this.abort.signal);
    }
  }

  private consume(stream: Readable): Promise<void> {
    return new Promise((resolve) => {
      const lines = createInterface({ input: stream });
      lines.on("line", (line) => {
        let raw: DockerEvent;
        try {
          raw = JSON.parse(line) as DockerEvent;
        } catch {
          return;
        }
        const event = fromDockerEvent(raw);
        if (event !== undefined) this.bus.emit(event);
      });
      lines.once("close", () => resolve());
      // A destroyed stream (stop, engine gone) emits close but not end, which readline waits for.
      stream.once("close", () => lines.close());
      stream.once("error", () => lines.close());
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.stream?.destroy();
    await this.loop;
  }
}
