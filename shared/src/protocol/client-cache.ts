import { IotFogError } from "../errors";
import { LimitRefusals } from "../limits";
import type { Logger } from "../logging";
import type { AgentClient } from "./client";

/**
 * Open AgentClients by key (a node id, a peer's endpoint), bounded: each is a socket and a file descriptor, and
 * the keys come from what other machines announce. A new client beyond `limit` closes the least recently used
 * one with no call in flight; when every one is busy the new one is refused with UNAVAILABLE (counted, logged).
 * A cached client whose endpoint changed is replaced.
 */
export class AgentClientCache {
  /** In order of last use, least recent first. */
  private readonly clients = new Map<string, AgentClient>();
  readonly refusals: LimitRefusals;

  constructor(
    what: string,
    limit: number,
    logger: Logger | undefined,
    /** Makes the client for `key` at `endpoint` (the key may carry what the client needs, e.g. a peer's public key). */
    private readonly make: (endpoint: string, key: string) => AgentClient,
  ) {
    this.refusals = new LimitRefusals(what, limit, logger);
  }

  get size(): number {
    return this.clients.size;
  }

  /** The client for `key` at `endpoint`, made (or replaced) if needed. */
  get(key: string, endpoint: string): AgentClient {
    const existing = this.clients.get(key);
    if (existing !== undefined) this.clients.delete(key);
    if (existing !== undefined && existing.endpoint === endpoint) {
      this.clients.set(key, existing); // most recently used now
      return existing;
    }
    if (existing !== undefined) void existing.close();
    if (!this.makeRoom()) {
      this.refusals.refuse({ key });
      throw new IotFogError(
        "UNAVAILABLE",
        `cannot connect to ${key}: ${this.refusals.limit} connections are all busy; retry later`,
      );
    }
    const client = this.make(endpoint, key);
    this.clients.set(key, client);
    return client;
  }

  /** Closes and forgets the clients whose key matches. */
  closeWhere(match: (key: string) => boolean): void {
    for (const [key, client] of [...this.clients]) {
      if (!match(key)) continue;
      this.clients.delete(key);
      void client.close();
    }
  }

  /** Closes every client. */
  async closeAll(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  private makeRoom(): boolean {
    if (this.clients.size < this.refusals.limit) return true;
    for (const [key, client] of this.clients) {
      if (client.inFlight > 0) continue;
      this.clients.delete(key);
      void client.close();
      return true;
    }
    return false;
  }
}
