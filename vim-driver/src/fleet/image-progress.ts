import type { AgentClient } from "@openiotfog/shared";

/**
 * Wraps the receiving agent's client so every imported chunk reports progress, without a second copy loop:
 * `copyImage` from the shared protocol drives the transfer, this only watches its import calls.
 */
export function withImportProgress(
  client: AgentClient,
  onProgress: (doneBytes: number, totalBytes: number) => void,
): AgentClient {
  let total = 0;
  return new Proxy(client, {
    get(target, prop) {
      if (prop === "call") {
        const call: AgentClient["call"] = async (command, params, opts) => {
          const result = await target.call(command, params, opts);
          const p = params as { sizeBytes?: number; offset?: number };
          if (command === "images.import.begin") total = p.sizeBytes ?? 0;
          if (command === "images.import.chunk")
            onProgress((p.offset ?? 0) + (opts?.attachment?.length ?? 0), total);
          return result;
        };
        return call;
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
