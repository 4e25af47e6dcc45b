import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import {
  readSecretFile,
  serveMetrics,
  type Component,
  type Logger,
  type MetricsSource,
} from "@openiotfog/shared";
import type { AgentMetricsConfig } from "../metrics/config";
import { scrapeToken } from "../metrics/scrape-token";
import { AgentRestBackend, type AgentBackendDeps } from "./agent-backend";
import type { RestApp, createRestApp } from "./app";
import type { RestConfig } from "./config";
import { RestServer } from "./server";

/** What `require("./app")` returns (the module is loaded lazily, see build below). */
interface RestAppModule {
  createRestApp: typeof createRestApp;
}

/** The configuration sections the REST API reads. */
export interface RestApiOptions {
  dataDir: string;
  rest: RestConfig;
  metrics: AgentMetricsConfig;
}

/**
 * The REST token from the config, or one generated once and kept in the data directory (mode 0600). A kept
 * file that group or other users may read is refused, not replaced: the operator must see that it leaked.
 */
async function restToken(config: RestApiOptions, logger: Logger): Promise<string> {
  if (config.rest.token !== undefined) return config.rest.token;
  const file = path.join(config.dataDir, "rest-token");
  try {
    const kept = await readSecretFile(file);
    if (kept.length >= 8) return kept;
  } catch (e) {
    // Not there yet: create it below.
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const token = randomBytes(24).toString("base64url");
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  logger.info("generated a REST API token", { file });
  return token;
}

/**
 * The agent's local REST API (docs/agent-events.md) and its /metrics, on one listener when `rest.enabled`.
 * Its token is read (or generated) at start.
 */
export class RestApiComponent implements Component {
  readonly name = "rest-api";
  private server: RestServer | undefined;

  constructor(
    private readonly config: RestApiOptions,
    private readonly backend: AgentBackendDeps,
    private readonly metrics: MetricsSource,
    private readonly logger: Logger,
  ) {}

  /** The API's URL once started (undefined when disabled or not started). */
  get url(): string | undefined {
    return this.server?.url;
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    if (!config.rest.enabled) return;
    const backend = new AgentRestBackend(this.backend);
    const token = await restToken(config, logger);
    const build = (): RestApp => {
      // Loaded on the first request only (see RestServer): express is the agent's largest optional module.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createRestApp } = require("./app") as RestAppModule;
      return createRestApp({ backend, token, openReads: config.rest.openReads, logger });
    };
    const tokens = [token, ...(await scrapeToken(config.metrics))];
    const metrics = config.metrics.enabled
      ? serveMetrics.bind(undefined, {
          registry: this.metrics,
          tokens,
          open: config.rest.openReads,
          realm: "iotfog-agent",
        })
      : undefined;
    this.server = new RestServer(
      build,
      config.rest.host,
      config.rest.port,
      logger,
      { tls: config.rest.tls, insecurePlainHttp: config.rest.insecurePlainHttp },
      metrics,
    );
    await this.server.start();
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }
}
