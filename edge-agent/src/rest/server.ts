import type http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  IotFogError,
  apiUrlScheme,
  createApiHttpServer,
  errorMessage,
  isMetricsRequest,
  type Component,
  type HttpTlsConfig,
  type Logger,
} from "@openiotfog/shared";
import type { RestApp } from "./app";

/**
 * Serves the REST app on host:port as a lifecycle component; stop ends event streams and open connections.
 * The app is built on the first request: express costs several MiB of a Pi agent's memory, and most nodes are
 * driven from the fleet side and never asked locally.
 */
export class RestServer implements Component {
  readonly name = "rest-api";
  private server: http.Server | undefined;
  private boundPort = 0;
  private rest: RestApp | undefined;

  constructor(
    private readonly build: () => RestApp,
    private readonly host: string,
    private readonly port: number,
    private readonly logger: Logger,
    /** HTTPS; without it a non-loopback host is refused unless insecurePlainHttp (see createApiHttpServer). */
    private readonly security: { tls?: HttpTlsConfig | undefined; insecurePlainHttp?: boolean } = {},
    /** `GET /metrics`, served without building the app: Prometheus scrapes every node, most never get more. */
    private readonly metrics?: (req: IncomingMessage, res: ServerResponse) => void,
  ) {}

  async start(): Promise<void> {
    const handler: http.RequestListener = (req, res) => {
      if (this.metrics !== undefined && isMetricsRequest(req.url)) {
        this.metrics(req, res);
        return;
      }
      try {
        this.rest ??= this.build();
      } catch (e) {
        this.logger.error("REST API cannot be built", { error: errorMessage(e) });
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "INTERNAL", message: "REST API unavailable" } }));
        return;
      }
      this.rest.app(req, res);
    };
    const server = createApiHttpServer(
      handler,
      { host: this.host, ...this.security, field: "rest", what: "REST API" },
      this.logger,
    );
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
    return `${apiUrlScheme(this.security.tls)}://${host}:${this.boundPort}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    this.rest?.closeStreams();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
