import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  IotFogError,
  METRICS_PATH,
  authorizeScrape,
  errorMessage,
  isIotFogError,
  isMetricsRequest,
  readSecretFileSync,
  serveMetrics,
  type Component,
  type Logger,
  type MetricsSource,
} from "@openiotfog/shared";
import type { FleetNode } from "../fleet/types";
import type { DriverMetricsConfig } from "./config";
import { prometheusTargets } from "./targets";

/** Prometheus' HTTP service discovery of the agents (docs/metrics.md). */
export const TARGETS_PATH = `${METRICS_PATH}/targets`;

/** The scrape token of the config (or its file), as a list of zero or one tokens. */
export function driverScrapeTokens(config: DriverMetricsConfig): string[] {
  if (config.scrapeToken !== undefined) return [config.scrapeToken];
  if (config.scrapeTokenFile === undefined) return [];
  let token: string;
  try {
    token = readSecretFileSync(config.scrapeTokenFile);
  } catch (e) {
    if (isIotFogError(e)) throw e;
    throw new IotFogError("CONFIG_INVALID", `metrics.scrapeTokenFile: ${errorMessage(e)}`);
  }
  if (token.length < 16) {
    throw new IotFogError(
      "CONFIG_INVALID",
      "metrics.scrapeTokenFile: the token must be at least 16 characters",
    );
  }
  return [token];
}

/**
 * The driver's `/metrics` and `/metrics/targets` (the agents to scrape, for Prometheus' `http_sd_configs`), both
 * for the API token or the scrape token.
 */
export function driverMetricsHandler(
  registry: MetricsSource,
  tokens: readonly string[],
  nodes: () => FleetNode[],
): (req: IncomingMessage, res: ServerResponse) => void {
  const opts = { registry, tokens, realm: "iotfog" };
  return (req, res) => {
    if ((req.url ?? "").split("?")[0] !== TARGETS_PATH) return serveMetrics(opts, req, res);
    if (!authorizeScrape(opts, req, res)) return;
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(prometheusTargets(nodes())));
  };
}

/** A listener that serves /metrics alone (a driver whose fleet API is off). */
export class MetricsServer implements Component {
  readonly name = "metrics-listener";
  private server: http.Server | undefined;
  private boundPort = 0;

  constructor(
    private readonly handler: (req: IncomingMessage, res: ServerResponse) => void,
    private readonly host: string,
    private readonly port: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      if (isMetricsRequest(req.url) || (req.url ?? "").split("?")[0] === TARGETS_PATH) {
        return this.handler(req, res);
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error: { code: "NOT_FOUND", message: "this listener serves /metrics only" } }),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) =>
        reject(
          new IotFogError(
            "UNAVAILABLE",
            `metrics cannot listen on ${this.host}:${this.port}: ${errorMessage(e)}`,
          ),
        ),
      );
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    this.logger.info("metrics listening", { url: `http://${this.host}:${this.boundPort}/metrics` });
  }

  get listeningPort(): number {
    return this.boundPort;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
