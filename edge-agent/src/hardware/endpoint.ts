import { Subscriber } from "zeromq";
import { errorMessage, type Component, type Logger } from "@openiotfog/shared";
import { bindOrClose } from "../monitoring/zmq-bind";
import { MAX_HARDWARE_EVENT_BYTES, type HardwareEventHandler } from "./handler";

/**
 * The hardware event endpoint: a SUB socket the agent binds, to which any number of third-party listeners
 * connect PUB (or XPUB) sockets. ZeroMQ fans them in, so listeners need no registration and may come and go.
 */
export class HardwareEventEndpoint implements Component {
  readonly name = "hardware-events";
  private socket: Subscriber | undefined;
  private loop: Promise<void> | undefined;
  private bound = "";

  constructor(
    private readonly address: string,
    private readonly handler: HardwareEventHandler,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // Oversized messages make ZeroMQ drop the sender's connection; leave room above our own limit so a
    // slightly too large event is still received, counted and reported.
    const socket = new Subscriber({ linger: 0, maxMessageSize: MAX_HARDWARE_EVENT_BYTES * 4 });
    socket.subscribe();
    this.bound = await bindOrClose(socket, this.address, "hardware event endpoint");
    this.socket = socket;
    this.loop = this.receive(socket);
    this.logger.info("hardware event endpoint listening", { address: this.bound });
  }

  /** The address actually bound (resolves `tcp://127.0.0.1:*`). */
  get endpoint(): string {
    return this.bound;
  }

  private async receive(socket: Subscriber): Promise<void> {
    try {
      for await (const frames of socket) {
        await this.handler.handleFrames(frames, this.bound).catch((e: unknown) => {
          this.logger.warn("hardware event handling failed", { error: errorMessage(e) });
        });
      }
    } catch (e) {
      if (this.socket !== undefined)
        this.logger.error("hardware event endpoint stopped", { error: errorMessage(e) });
    }
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    socket?.close();
    await this.loop;
  }
}
