import type { FleetEvent, FleetEventType } from "./types";

export type FleetEventInput = Omit<FleetEvent, "id" | "time">;
export type FleetEventListener = (event: FleetEvent) => void;

/**
 * Recent fleet events in a bounded ring, plus live subscribers. The ring lets a client that connects late
 * (or reconnects) catch up from the last id it saw; old events fall off so memory stays flat.
 */
export class EventLog {
  private readonly ring: FleetEvent[] = [];
  private nextId = 1;
  private readonly listeners = new Set<FleetEventListener>();

  constructor(
    private readonly capacity = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  publish(input: FleetEventInput): FleetEvent {
    const event: FleetEvent = { id: this.nextId++, time: new Date(this.now()).toISOString(), ...input };
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A broken subscriber (a closed HTTP stream) must not stop the others.
      }
    }
    return event;
  }

  /** Events with id > `since` (oldest first), at most `limit` of the newest, optionally of some types only. */
  recent(
    opts: { since?: number; limit?: number; types?: readonly FleetEventType[]; nodeId?: string } = {},
  ): FleetEvent[] {
    const since = opts.since ?? 0;
    const types = opts.types && opts.types.length > 0 ? new Set(opts.types) : undefined;
    const out = this.ring.filter(
      (e) =>
        e.id > since &&
        (types === undefined || types.has(e.type)) &&
        (opts.nodeId === undefined || e.nodeId === opts.nodeId),
    );
    const limit = opts.limit ?? 100;
    return out.length > limit ? out.slice(out.length - limit) : out;
  }

  /** The id of the newest event (0 when none). */
  get lastId(): number {
    return this.nextId - 1;
  }

  subscribe(listener: FleetEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}
