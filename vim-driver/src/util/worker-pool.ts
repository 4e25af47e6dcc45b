/**
 * A bounded pool: at most `size` jobs run at once, the rest wait in arrival order. Requests from the NFVO
 * are I/O-bound (agents do the Docker work), so "workers" are concurrency slots, not threads. `maxJobs`
 * bounds running plus waiting jobs for callers that check `full` before `run`.
 */
export class WorkerPool {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly size: number,
    readonly maxJobs = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError("pool size must be a positive integer");
  }

  /** Running plus waiting jobs have reached maxJobs: a caller should refuse a new one. */
  get full(): boolean {
    return this.running + this.waiting.length >= this.maxJobs;
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `job` when a slot is free; `onStart` is called right before, e.g. to acknowledge the message. */
  async run<T>(job: () => Promise<T>, onStart?: () => void): Promise<T> {
    if (this.running >= this.size) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      onStart?.();
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) {
        next(); // the slot passes straight to the next job
      } else {
        this.running -= 1;
        if (this.running === 0) this.notifyIdle();
      }
    }
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
