import type { AgentCommandName } from "@openiotfog/shared";

/** Commands that change something: their replies are kept so a retry with the same id is answered, not re-run. */
export const REPLAYED: ReadonlySet<AgentCommandName> = new Set<AgentCommandName>([
  "deploy",
  "start",
  "stop",
  "remove",
  "images.import.begin",
  "images.import.chunk",
  "images.import.commit",
  "images.import.abort",
  "images.pull",
  "images.export.begin",
  "images.export.end",
  "networks.create",
  "networks.remove",
  "labels.set",
]);

const MAX_CACHED_REPLIES = 2000;

interface CachedReply {
  command: string;
  frames: Promise<Buffer[]>;
  expires: number;
}

/**
 * The replies of changing commands by request id, for `replyCacheMs`: a retry of a request already run (or
 * still running) gets the first run's reply. Bounded; expired entries go on every lookup.
 */
export class ReplyCache {
  private readonly replies = new Map<string, CachedReply>();

  constructor(private readonly ttlMs: number) {}

  get(id: string): CachedReply | undefined {
    this.sweep();
    return this.replies.get(id);
  }

  remember(id: string, command: string, frames: Promise<Buffer[]>): void {
    this.replies.set(id, { command, frames, expires: Date.now() + this.ttlMs });
  }

  forget(id: string): void {
    this.replies.delete(id);
  }

  clear(): void {
    this.replies.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.replies) {
      if (entry.expires <= now || this.replies.size > MAX_CACHED_REPLIES) this.replies.delete(id);
      else break; // insertion order = expiry order
    }
  }
}
