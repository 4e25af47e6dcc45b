import { randomBytes } from "node:crypto";
import { errorMessage, type Logger } from "@openiotfog/shared";
import {
  AGENT_EVENT_VERSION,
  defaultSeverity,
  matchesFilter,
  type AgentEvent,
  type AgentEventInput,
  type EventFilter,
} from "./events";

/** Somewhere events go besides the log and the history (the MQTT events topic, the ZeroMQ PUB socket). */
export interface EventSink {
  readonly name: string;
  publish(event: AgentEvent): void | Promise<void>;
}

export type EventListener = (event: AgentEvent) => void;

export interface EventBusOptions {
  nodeId: string;
  logger: Logger;
  /** Events kept for the REST API; the oldest are dropped first. Default 500. */
  historySize?: number;
}

/**
 * The monitoring agent's core: every lifecycle event goes through `emit`, which stamps it, logs it with
 * winston, keeps it in a bounded history and hands it to the sinks and live subscribers. A failing sink or
 * subscriber is logged and never stops the others (monitoring must not take the agent down).
 */
export class EventBus {
  readonly nodeId: string;
  private readonly logger: Logger;
  private readonly historySize: number;
  private readonly ring: AgentEvent[] = [];
  private readonly sinks = new Set<EventSink>();
  private readonly listeners = new Set<EventListener>();
  /** Distinguishes this process's sequence numbers from the last run's in event ids. */
  private readonly boot = randomBytes(3).toString("hex");
  private seq = 0;
  private sinkFailures = 0;

  constructor(opts: EventBusOptions) {
    this.nodeId = opts.nodeId;
    this.logger = opts.logger;
    this.historySize = Math.max(1, opts.historySize ?? 500);
  }

  emit(input: AgentEventInput): AgentEvent {
    this.seq += 1;
    const event: AgentEvent = {
      v: AGENT_EVENT_VERSION,
      seq: this.seq,
      id: `${this.nodeId}:${this.boot}:${this.seq}`,
      type: input.type,
      severity: input.severity ?? defaultSeverity(input.type),
      nodeId: this.nodeId,
      time: new Date().toISOString(),
      message: input.message,
      data: input.data ?? {},
    };
    for (const key of ["deploymentId", "service", "containerId", "deviceId", "peerId"] as const) {
      const value = input[key];
      if (value !== undefined) event[key] = value;
    }
    this.ring.push(event);
    if (this.ring.length > this.historySize) this.ring.splice(0, this.ring.length - this.historySize);
    this.logger.log(event.severity, event.message, {
      event: event.type,
      seq: event.seq,
      ...(event.deploymentId === undefined ? {} : { deploymentId: event.deploymentId }),
      ...(event.deviceId === undefined ? {} : { deviceId: event.deviceId }),
      ...(event.peerId === undefined ? {} : { peerId: event.peerId }),
      ...(event.containerId === undefined ? {} : { containerId: event.containerId }),
    });
    for (const sink of this.sinks) this.publishTo(sink, event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (e) {
        this.logger.warn("event subscriber failed", { error: errorMessage(e) });
      }
    }
    return event;
  }

  private publishTo(sink: EventSink, event: AgentEvent): void {
    const failed = (e: unknown): void => {
      this.sinkFailures += 1;
      this.logger.debug("event sink failed", { sink: sink.name, seq: event.seq, error: errorMessage(e) });
    };
    try {
      const done = sink.publish(event);
      if (done instanceof Promise) done.catch(failed);
    } catch (e) {
      failed(e);
    }
  }

  /** Recent events, oldest first; `limit` keeps the newest. */
  history(filter: EventFilter = {}): AgentEvent[] {
    const hits = this.ring.filter((e) => matchesFilter(e, filter));
    return filter.limit === undefined ? hits : hits.slice(Math.max(0, hits.length - filter.limit));
  }

  /** Live events; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  addSink(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  stats(): { lastSeq: number; kept: number; capacity: number; subscribers: number; sinkFailures: number } {
    return {
      lastSeq: this.seq,
      kept: this.ring.length,
      capacity: this.historySize,
      subscribers: this.listeners.size,
      sinkFailures: this.sinkFailures,
    };
  }
}
