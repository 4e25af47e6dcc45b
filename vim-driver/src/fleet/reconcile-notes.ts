import { Backoff, type BackoffOptions, type Logger } from "@openiotfog/shared";
import type { EventLog } from "./events";
import { replicaKey, seconds, type ReplicaRef } from "./reconcile-plan";

/** Why a replica is not where it should be, shown with it (`iotfog ps`, the API, the GUI). */
export interface ReplicaNote {
  note: string;
  /** True when the replica waits for a node to take it (nothing fits, or its start failed). */
  pending: boolean;
}

interface Retry {
  backoff: Backoff;
  nextAt: number;
}

export interface ReplicaNotesOptions {
  events: EventLog;
  logger: Logger;
  retry?: BackoffOptions;
  now: () => number;
}

/**
 * What the reconciler remembers per replica between passes: why it is not where it should be (the note shown with
 * it), and when it may be tried again (exponential backoff per replica). An event goes out when the reason
 * changes, not for every retry of the same reason.
 */
export class ReplicaNotes {
  private readonly retries = new Map<string, Retry>();
  private readonly notes = new Map<string, ReplicaNote & { reason: string }>();

  constructor(private readonly opts: ReplicaNotesOptions) {}

  of(deploymentId: string, service: string, replica: number): ReplicaNote | undefined {
    const n = this.notes.get(replicaKey(deploymentId, service, replica));
    return n === undefined ? undefined : { note: n.note, pending: n.pending };
  }

  /** False while the replica's backoff runs. */
  due(key: string, now: number): boolean {
    return (this.retries.get(key)?.nextAt ?? 0) <= now;
  }

  /** Nothing to do now, for a reason (policy keep, grace). */
  waiting(a: ReplicaRef, note: string): void {
    this.set(a, { note, pending: false }, "replica.waiting", note);
  }

  /** An attempt failed: pending, tried again after the next backoff delay. */
  failed(a: ReplicaRef, why: string): void {
    const key = replicaKey(a.deploymentId, a.spec.name, a.declared.replica);
    let retry = this.retries.get(key);
    if (retry === undefined) {
      retry = { backoff: new Backoff(this.opts.retry ?? { initialMs: 1000, maxMs: 30000 }), nextAt: 0 };
      this.retries.set(key, retry);
    }
    const delay = retry.backoff.next();
    retry.nextAt = this.opts.now() + delay;
    this.opts.logger.info("replica pending", { deploymentId: a.deploymentId, why, retryInMs: delay });
    this.set(a, { note: `${why}; next try in ${seconds(delay)}`, pending: true }, "replica.pending", why);
  }

  succeeded(a: ReplicaRef): void {
    const key = replicaKey(a.deploymentId, a.spec.name, a.declared.replica);
    this.retries.delete(key);
    this.notes.delete(key);
  }

  /** Replicas that needed nothing in a pass are where they should be: their notes and backoffs go. */
  keepOnly(keys: Set<string>): void {
    for (const key of [...this.notes.keys()]) if (!keys.has(key)) this.notes.delete(key);
    for (const key of [...this.retries.keys()]) if (!keys.has(key)) this.retries.delete(key);
  }

  private set(
    a: ReplicaRef,
    note: ReplicaNote,
    type: "replica.pending" | "replica.waiting",
    reason: string,
  ): void {
    const key = replicaKey(a.deploymentId, a.spec.name, a.declared.replica);
    const before = this.notes.get(key);
    this.notes.set(key, { ...note, reason });
    if (before?.reason === reason) return;
    this.opts.events.publish({
      type,
      deploymentId: a.deploymentId,
      nodeId: a.declared.nodeId,
      message: `${a.deploymentId}: ${a.spec.name}#${a.declared.replica} ${note.pending ? "pending" : "waiting"}: ${note.note}`,
      data: { service: a.spec.name, replica: a.declared.replica, reason },
    });
  }
}
