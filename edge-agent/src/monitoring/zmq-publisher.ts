import { Publisher } from "zeromq";
import { curveContext, type Component, type CurveServer, type Logger } from "@openiotfog/shared";
import type { NodeSecurity } from "../security/node-security";
import type { EventSink } from "./bus";
import type { AgentEvent } from "./events";
import { bindServer } from "./zmq-bind";

/**
 * The monitoring agent's ZeroMQ PUB socket. Each event is two frames, [type, JSON], so subscribers filter by
 * prefix (`container.`, `device.`) without parsing. PUB drops for slow subscribers instead of growing memory.
 * With security on it is a CurveZMQ server: only the fleet's and enrolled peers' keys may subscribe.
 */
export class ZmqEventPublisher implements Component, EventSink {
  readonly name = "events-pub";
  private socket: Publisher | undefined;
  private chain: Promise<void> = Promise.resolve();
  private bound = "";
  private curve: CurveServer | undefined;

  constructor(
    private readonly address: string,
    private readonly logger: Logger,
    private readonly security?: NodeSecurity,
  ) {}

  async start(): Promise<void> {
    this.bound = await this.open(this.address);
    this.logger.info("event publisher listening", {
      address: this.bound,
      security: this.security?.enabled === true ? "curve" : "INSECURE (plain ZeroMQ)",
    });
  }

  private async open(address: string): Promise<string> {
    const socket = new Publisher({ linger: 0, sendHighWaterMark: 1000, context: curveContext });
    const { endpoint, curve } = await bindServer(
      socket,
      address,
      "events PUB socket",
      this.security,
      "events",
    );
    this.curve = curve;
    this.socket = socket;
    return endpoint;
  }

  /** The address actually bound (resolves `tcp://127.0.0.1:*`). */
  get endpoint(): string {
    return this.bound;
  }

  publish(event: AgentEvent): Promise<void> {
    const frames = [event.type, JSON.stringify(event)];
    // One send at a time per socket (zeromq.js rule); PUB never blocks, so the chain stays short.
    this.chain = this.chain.then(() => this.socket?.send(frames)).catch(() => undefined);
    return this.chain;
  }

  async stop(): Promise<void> {
    await this.chain;
    const socket = this.socket;
    this.socket = undefined;
    // A CURVE server's socket is closed by its CurveServer, which lets libzmq end the socket's monitor first.
    if (this.curve === undefined) socket?.close();
    else await this.curve.close();
    this.curve = undefined;
  }
}
