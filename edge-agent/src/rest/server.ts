import http from "node:http";
import type { AddressInfo } from "node:net";
import { IotFogError, errorMessage, type Component, type Logger } from "@openiotfog/shared";
import type { RestApp } from "./app";

/** Serves the REST app on host:port as a lifecycle component; stop ends event streams and open connections. */
export class RestServer implements Component {
  readonly name = "rest-api";
  private server: http.Server | undefined;
  private boundPort = 0;

  constructor(
    private readonly rest: RestApp,
    private readonly host: string,
    private readonly port: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const server = http.createServer(this.rest.app);
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) =>
        reject(
          new IotFogError(
            "UNAVAILABLE",
            `REST API cannot listen on ${this.host}:${this.port}: ${errorMessage(e)}`,
          ),
        ),
      );
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    this.logger.info("REST API listening", { url: this.url });
  }

  /** The port actually bound (0 in the config picks a free one). */
  get listeningPort(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `http://${host}:${this.boundPort}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    this.rest.closeStreams();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
