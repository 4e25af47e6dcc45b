import { Publisher } from "zeromq";
import type { Component, Logger } from "@openiotfog/shared";
import type { EventSink } from "./bus";
import type { AgentEvent } from "./events";
import { bindOrClose } from "./zmq-bind";

/**
 * The monitoring agent's ZeroMQ PUB socket. Each event is two frames, [type, JSON], so subscribers filter by
 * prefix (`container.`, `device.`) without parsing. PUB drops for slow subscribers instead of growing memory.
 */
export class ZmqEventPublisher implements Component, EventSink {
  readonly name = "events-pub";
  private socket: Publisher | undefined;
  private chain: Promise<void> = Promise.resolve();
  private bound = "";

  constructor(
    private readonly address: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const socket = new Publisher({ linger: 0, sendHighWaterMark: 1000 });
    this.bound = await bindOrClose(socket, this.address, "events PUB socket");
    this.socket = socket;
    this.logger.info("event publisher listening", { address: this.bound });
  }

  /** The address actually bound (resolves `tcp://127.0.0.1:*`). */
  get endpoint(): string {
    return this.bound;
  }

  publish(event: AgentEvent): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return Promise.resolve();
    const frames = [event.type, JSON.stringify(event)];
    // One send at a time per socket (zeromq.js rule); PUB never blocks, so the chain stays short.
    this.chain = this.chain.then(() => socket.send(frames)).catch(() => undefined);
    return this.chain;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    await this.chain;
    socket?.close();
  }
}
