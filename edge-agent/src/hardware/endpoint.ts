import { Subscriber } from "zeromq";
import {
  IotFogError,
  errorMessage,
  curveContext,
  type Component,
  type CurveServer,
  type Logger,
} from "@openiotfog/shared";
import { bindServer } from "../monitoring/zmq-bind";
import { isLoopbackAddress } from "../security/config";
import type { NodeSecurity } from "../security/node-security";
import { MAX_HARDWARE_EVENT_BYTES, type HardwareEventHandler } from "./handler";

/**
 * The hardware event endpoint: a SUB socket the agent binds, to which any number of third-party listeners
 * connect PUB (or XPUB) sockets. ZeroMQ fans them in, so listeners need no registration and may come and go.
 * On loopback (the default) it is plain ZeroMQ for the node's own listeners; a network bind is refused unless
 * CurveZMQ is on, and then only the fleet's and enrolled peers' keys may publish to it.
 */
export class HardwareEventEndpoint implements Component {
  readonly name = "hardware-events";
  private socket: Subscriber | undefined;
  private loop: Promise<void> | undefined;
  private bound = "";
  private curve: CurveServer | undefined;

  constructor(
    private readonly address: string,
    private readonly handler: HardwareEventHandler,
    private readonly logger: Logger,
    private readonly security?: NodeSecurity,
  ) {}

  async start(): Promise<void> {
    // Oversized messages make ZeroMQ drop the sender's connection; leave room above our own limit so a
    // slightly too large event is still received, counted and reported.
    const socket = new Subscriber({
      linger: 0,
      maxMessageSize: MAX_HARDWARE_EVENT_BYTES * 4,
      context: curveContext,
    });
    socket.subscribe();
    const network = !isLoopbackAddress(this.address);
    if (network && this.security?.enabled !== true) {
      socket.close();
      throw new IotFogError(
        "CONFIG_INVALID",
        `hardware.bind ${this.address} is not a loopback address: a network bind needs CurveZMQ (security.mode curve)`,
      );
    }
    // On loopback it stays plain ZeroMQ for the node's own listeners, whatever the security mode.
    const { endpoint, curve } = await bindServer(
      socket,
      this.address,
      "hardware event endpoint",
      network ? this.security : undefined,
      "hardware",
    );
    this.bound = endpoint;
    this.curve = curve;
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
    // A CURVE server's socket is closed by its CurveServer, which lets libzmq end the socket's monitor first.
    if (this.curve === undefined) socket?.close();
    else await this.curve.close();
    this.curve = undefined;
    await this.loop;
  }
}
