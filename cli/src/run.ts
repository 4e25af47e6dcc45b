import { existsSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import {
  IotFogError,
  createLogger,
  Lifecycle,
  loadConfig,
  logSectionSchema,
  parseWith,
  serveUntilSignal,
  type Component,
  type Logger,
} from "@openiotfog/shared";
import { agentConfigSchema, buildAgent, resolveAgentConfig } from "@openiotfog/edge-agent";
import { buildDriver, driverConfigSchema, resolveApiToken } from "@openiotfog/vim-driver";
import { EmbeddedBroker, embeddedBrokerUrl } from "./broker";
import { UpDeployer } from "./commands/up-deploy";
import { LocalEnrollment } from "./local-enrollment";

export async function runDriver(configFile: string): Promise<void> {
  const config = loadConfig(driverConfigSchema, configFile);
  const logger = createLogger({ component: "driver", level: config.log.level, format: config.log.format });
  await serveUntilSignal(buildDriver(config, logger), logger);
}

/** `iotfog up`: one file with an `agent` and a `driver` section, and where MQTT runs. */
export const upConfigSchema = z
  .object({
    mqtt: z
      .object({
        url: z.string().url().optional(),
        embeddedHost: z.string().default("127.0.0.1"),
        embeddedPort: z.number().int().min(1).max(65535).optional(),
      })
      .strict()
      .default({}),
    agent: z.record(z.unknown()).default({}),
    driver: z.record(z.unknown()).default({}),
    /** Blueprint files deployed (through the fleet API) once the local agent has joined. */
    deploy: z.array(z.string().min(1)).default([]),
    // A person runs `iotfog up` in a terminal: readable lines by default.
    log: logSectionSchema("pretty"),
  })
  .strict();

/** Adapts a lifecycle to a component, so a whole sub-process can be one step of a bigger start order. */
function asComponent(name: string, lifecycle: Lifecycle): Component {
  return { name, start: () => lifecycle.start(), stop: () => lifecycle.stop() };
}

export interface UpOptions {
  config?: string;
  mqttUrl?: string;
  embeddedPort: number;
  /** Blueprints to deploy, in addition to the config's `deploy` list. */
  deploy?: string[];
}

export async function runUp(opts: UpOptions): Promise<void> {
  const up = loadConfig(upConfigSchema, opts.config);
  const logger = createLogger({ component: "up", level: up.log.level, format: up.log.format });
  const mqttUrl = opts.mqttUrl ?? up.mqtt.url;
  const components: Component[] = [];
  const embeddedPort = up.mqtt.embeddedPort ?? opts.embeddedPort;
  const brokerUrl = mqttUrl ?? embeddedBrokerUrl(up.mqtt.embeddedHost, embeddedPort);
  const source = opts.config ?? "configuration";
  // The single-machine stack is for people: the fleet API and GUI are on unless the config says otherwise.
  const driverSection = { ...up.driver, api: { enabled: true, ...(up.driver.api as object | undefined) } };
  const agentConfig = resolveAgentConfig(
    loadSection(agentConfigSchema, up.agent, brokerUrl, `${source} (section agent)`),
  );
  // The stack's declared state lives beside its agent's data (one stack, one state), unless configured.
  const fleet = (up.driver.fleet as Record<string, unknown> | undefined) ?? {};
  const stateFile = fleet.stateFile ?? path.join(path.dirname(agentConfig.dataDir), "fleet-state.json");
  const driverConfig = loadSection(
    driverConfigSchema,
    { ...driverSection, fleet: { ...fleet, stateFile } },
    brokerUrl,
    `${source} (section driver)`,
  );
  const blueprints = [...up.deploy, ...(opts.deploy ?? [])];
  for (const file of blueprints) {
    if (!existsSync(file))
      throw new IotFogError("CONFIG_NOT_FOUND", `blueprint to deploy not found: ${file}`);
  }
  const log = { level: up.log.level, format: up.log.format };
  if (mqttUrl === undefined) {
    // With the fleet's security the embedded broker admits only the driver and enrolled nodes, under the ACL.
    const secure = driverConfig.security.mode === "curve";
    components.push(
      new EmbeddedBroker(
        up.mqtt.embeddedHost,
        embeddedPort,
        logger,
        secure ? { fleetDir: driverConfig.security.dir, prefix: driverConfig.mqtt.topicPrefix } : undefined,
      ),
    );
  }
  components.push(
    asComponent("driver", buildDriver(driverConfig, createLogger({ component: "driver", ...log }))),
  );
  if (driverConfig.security.mode === "curve" && agentConfig.security.mode === "curve") {
    components.push(
      new LocalEnrollment({
        fleetDir: driverConfig.security.dir,
        nodeId: agentConfig.nodeId,
        nodeDir: agentConfig.security.dir,
        logger,
      }),
    );
  }
  components.push(
    asComponent(
      "agent",
      buildAgent(
        agentConfig,
        createLogger({ component: "agent", ...log, defaultMeta: { nodeId: agentConfig.nodeId } }),
      ),
    ),
  );
  if (blueprints.length > 0 && driverConfig.api.enabled) {
    const api = driverConfig.api;
    components.push(
      new UpDeployer({
        blueprints,
        apiUrl: `http://${api.host === "0.0.0.0" ? "127.0.0.1" : api.host}:${api.port}`,
        token: resolveApiToken(api, logger),
        tokenFile: api.tokenFile,
        logger,
      }),
    );
  }
  if (driverConfig.api.enabled) components.push(joinHint(driverConfig, logger));
  await serveUntilSignal(new Lifecycle(components, logger), logger);
}

/** Once the stack is up: how another machine joins this fleet. */
function joinHint(config: z.output<typeof driverConfigSchema>, logger: Logger): Component {
  return {
    name: "join-hint",
    start: async () => {
      if (config.security.mode !== "curve") {
        logger.warn(
          "SECURITY OFF (security.mode: insecure): other nodes cannot join this single-machine stack",
        );
        return;
      }
      const host = config.api.host === "0.0.0.0" ? "<this machine's address>" : config.api.host;
      const url = `http://${host}:${config.api.port}`;
      process.stdout.write(
        [
          "",
          "To add another fog node to this fleet:",
          `  iotfog fleet token create --api-url ${url}          # here: a single-use join token, valid 1 h`,
          `  iotfog agent --config agent.yaml --join <token> --server ${url}   # on the new node`,
          config.api.host === "127.0.0.1"
            ? "  (the fleet API listens on loopback: set driver.api.host to a LAN address so other machines reach it)"
            : "",
          "",
        ]
          .filter((l, i, all) => l !== "" || i === 0 || i === all.length - 1)
          .join("\n") + "\n",
      );
    },
    stop: async () => undefined,
  };
}

function loadSection<T>(
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  section: Record<string, unknown>,
  mqttUrl: string,
  source: string,
): T {
  const mqtt = { ...((section.mqtt as Record<string, unknown> | undefined) ?? {}), url: mqttUrl };
  return parseWith(schema, { ...section, mqtt }, source, "CONFIG_INVALID");
}
