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
 * Graceful shutdown on SIGINT/SIGTERM: the first signal stops the lifecycle, a second one, or a stop that
 * takes longer than `graceMs`, exits at once.
 */
export function stopOnSignals(
  stop: () => Promise<void>,
  logger: Logger,
  opts: { graceMs?: number; exit?: (code: number) => void } = {},
): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const graceMs = opts.graceMs ?? 15000;
  let signalled = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn("second signal, exiting now", { signal });
      exit(130);
      return;
    }
    signalled = true;
    logger.info("shutting down", { signal });
    const timer = setTimeout(() => {
      logger.error("shutdown took too long, exiting", { graceMs });
      exit(1);
    }, graceMs);
    timer.unref();
    stop().then(
      () => {
        clearTimeout(timer);
        logger.info("stopped");
        exit(0);
      },
      (e: unknown) => {
        clearTimeout(timer);
        logger.error("shutdown failed", { error: errorMessage(e) });
        exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
