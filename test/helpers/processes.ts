/** Child processes of tests and benchmarks (agents, the driver, `iotfog up`): stopping them without leaks. */
import type { ChildProcess } from "node:child_process";

/** Resolves when the child has exited; SIGKILL after `killAfterMs` if it has not by then. */
export function waitExit(child: ChildProcess, killAfterMs = 15000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Sends `signal` (SIGTERM: a graceful stop) to a running child and waits for it to exit (see waitExit). */
export async function stopProcess(
  child: ChildProcess,
  opts: { signal?: NodeJS.Signals; killAfterMs?: number } = {},
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(opts.signal ?? "SIGTERM");
  await waitExit(child, opts.killAfterMs);
}
