import net from "node:net";
import type { AddressInfo } from "node:net";
import { createBroker } from "aedes";
import type Aedes from "aedes";
import { IotFogError, type Component, type Logger } from "@openiotfog/shared";

/**
 * An embedded MQTT broker (aedes) for a single machine, so `iotfog up` needs no Mosquitto.
 * A fleet across machines should use a real broker; agents then point `mqtt.url` at it.
 */
export class EmbeddedBroker implements Component {
  readonly name = "embedded-mqtt-broker";
  private broker: Aedes | undefined;
  private server: net.Server | undefined;
  private boundPort: number | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly logger: Logger,
  ) {}

  get url(): string {
    return `mqtt://${this.host}:${this.boundPort ?? this.port}`;
  }

  async start(): Promise<void> {
    const broker = createBroker();
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(
          new IotFogError(
            "UNAVAILABLE",
            e.code === "EADDRINUSE"
              ? `embedded MQTT broker: port ${this.port} on ${this.host} is in use; set mqtt.embeddedPort or use that broker with --mqtt-url`
              : `embedded MQTT broker: ${e.message}`,
          ),
        ),
      );
      server.listen(this.port, this.host, () => resolve());
    });
    this.broker = broker;
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    this.logger.info("embedded MQTT broker listening", { url: this.url });
  }

  async stop(): Promise<void> {
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    if (server) {
      for (const socket of this.sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }
}
