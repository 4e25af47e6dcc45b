import type { Logger } from "./logging";
import { errorMessage } from "./errors";

/** A part of a process with an explicit start and stop. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts components in order and stops them in reverse order. A failed start stops what already started,
 * so a process never runs half-wired.
 */
export class Lifecycle {
  private readonly started: Component[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly components: Component[],
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    for (const c of this.components) {
      this.logger.debug("starting component", { name: c.name });
      try {
        await c.start();
      } catch (e) {
        this.logger.error("component failed to start", { name: c.name, error: errorMessage(e) });
        await this.stop();
        throw e;
      }
      this.started.push(c);
      this.logger.debug("component started", { name: c.name });
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    while (this.started.length > 0) {
      const c = this.started.pop();
      if (!c) break;
      try {
        await c.stop();
        this.logger.debug("component stopped", { name: c.name });
      } catch (e) {
        this.logger.warn("component failed to stop cleanly", { name: c.name, error: errorMessage(e) });
      }
    }
  }
}

/**
 * Runs a process until SIGINT/SIGTERM: starts the lifecycle, waits for a signal, stops in reverse order.
 * A second signal, or a stop that takes longer than `graceMs`, exits at once so a stuck handle never
 * keeps a node's agent from restarting.
 */
export async function serveUntilSignal(
  lifecycle: Lifecycle,
  logger: Logger,
  opts: { graceMs?: number; exit?: (code: number) => void } = {},
): Promise<NodeJS.Signals> {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const graceMs = opts.graceMs ?? 15000;
  let resolveSignal: (s: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => (resolveSignal = resolve));
  const first = (signal: NodeJS.Signals): void => resolveSignal(signal);
  process.once("SIGINT", first);
  process.once("SIGTERM", first);
  try {
    await lifecycle.start();
  } catch (e) {
    process.off("SIGINT", first);
    process.off("SIGTERM", first);
    throw e;
  }
  logger.info("ready");
  const signal = await signalled;
  process.off("SIGINT", first);
  process.off("SIGTERM", first);
  logger.info("shutting down", { signal });
  const second = (s: NodeJS.Signals): void => {
    logger.warn("second signal, exiting now", { signal: s });
    exit(130);
  };
  process.once("SIGINT", second);
  process.once("SIGTERM", second);
  const timer = setTimeout(() => {
    logger.error("shutdown took too long, exiting", { graceMs });
    exit(1);
  }, graceMs);
  timer.unref();
  try {
    await lifecycle.stop();
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", second);
    process.off("SIGTERM", second);
  }
  logger.info("stopped");
  return signal;
}

/** Keeps the event loop alive while a long-running process serves, whatever else it has open. */
export class KeepAlive implements Component {
  readonly name = "keep-alive";
  private timer: NodeJS.Timeout | undefined;
  async start(): Promise<void> {
    this.timer = setInterval(() => undefined, 1 << 30);
  }
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
