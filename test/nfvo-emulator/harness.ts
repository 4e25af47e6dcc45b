/**
 * Test harness: a temporary vhost, the NFVO emulator on it, and the real driver (buildDriver) registering with
 * it. Every name that RabbitMQ keeps broker-wide (users) is unique per harness, so test files never collide.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger, type Lifecycle } from "@openiotfog/shared";
import {
  buildDriver,
  driverConfigSchema,
  type DriverConfig,
  type DriverConfigInput,
} from "@openiotfog/vim-driver";
import {
  MQTT_URL,
  RABBIT_ADMIN,
  RABBIT_HOST,
  RABBIT_MGMT_URL,
  RABBIT_PORT,
  createTempVhost,
  uniqueName,
  waitFor,
  type TempVhost,
} from "../helpers/services";
import { testFleetDir } from "../helpers/fleet";
import { NfvoEmulator, type NfvoEmulatorOptions } from "./emulator";
import { getQueues } from "./management";

export interface DriverHarness {
  vhost: TempVhost;
  emulator: NfvoEmulator;
  driver: Lifecycle;
  config: DriverConfig;
  /** `vim-drivers.docker.<name>` */
  pluginId: string;
  /** A DockerVimInstance as the NFVO sends it, typed so it reaches this driver (`docker.<name>`). */
  vim: Record<string, unknown> & { name: string; type: string };
  /** Waits until the NFVO can see the plugin queue (what the NFVO checks before every call). */
  waitServing(timeoutMs?: number): Promise<void>;
  /** What the driver logged, oldest first (also kept when the console output is silent). */
  logs: LogRecord[];
  /** Waits until the driver logs a line matching `message` (and `part`, if given) after `since` (an index in logs). */
  waitForLog(match: { message: RegExp; part?: string }, since: number, timeoutMs?: number): Promise<void>;
  /** Waits until the driver's fleet view has `count` live nodes (getQuota's instances count them). */
  waitForNodes(count: number, timeoutMs?: number): Promise<void>;
  stopDriver(): Promise<void>;
  /** Stops the driver and starts a new one with the same configuration (same VNFM state file), serving again. */
  restartDriver(): Promise<void>;
  close(): Promise<void>;
}

export interface LogRecord {
  level: string;
  message: string;
  /** The driver part that logged it (`openbaton`, `vnfm`, ...). */
  part?: string;
}

export async function startDriverHarness(
  opts: {
    driver?: Partial<DriverConfigInput>;
    topicPrefix?: string;
    pluginTimeoutMs?: number;
    /** Builds the emulator (e.g. one that also plays the NFVO's VNFM side); default: NfvoEmulator. */
    emulator?: (options: NfvoEmulatorOptions) => NfvoEmulator;
  } = {},
): Promise<DriverHarness> {
  const vhost = await createTempVhost("iotfog-driver");
  // The VNFM's and the fleet's state files: per harness, so no test sees another's records.
  const stateDir = mkdtempSync(path.join(os.tmpdir(), "iotfog-vnfm-"));
  const name = uniqueName("fog");
  const make = opts.emulator ?? ((options: NfvoEmulatorOptions) => new NfvoEmulator(options));
  const emulator = make({
    hostname: RABBIT_HOST,
    port: RABBIT_PORT,
    vhost: vhost.vhost,
    admin: RABBIT_ADMIN,
    managementUrl: RABBIT_MGMT_URL,
    registrationUser: { name: uniqueName("ob-manager"), password: "openbaton" },
    pluginTimeoutMs: opts.pluginTimeoutMs ?? 60000,
  });
  let driver: Lifecycle | undefined;
  try {
    await emulator.start();
    const input: DriverConfigInput = {
      // The test process's fleet: the agents the tests start are enrolled in it (CurveZMQ on).
      security: { dir: testFleetDir() },
      ...opts.driver,
      vnfm: { stateFile: path.join(stateDir, "vnfm.json"), ...opts.driver?.vnfm },
      fleet: { stateFile: path.join(stateDir, "fleet.json"), ...opts.driver?.fleet },
      mqtt: {
        url: MQTT_URL,
        topicPrefix: opts.topicPrefix ?? uniqueName("iotfog-test"),
        ...opts.driver?.mqtt,
      },
      openbaton: {
        enabled: true,
        brokerUrl: `amqp://${RABBIT_HOST}:${RABBIT_PORT}`,
        vhost: vhost.vhost,
        registrationUser: emulator.registrationUser.name,
        registrationPassword: emulator.registrationUser.password,
        name,
        managementUrl: RABBIT_MGMT_URL,
        retryInitialMs: 200,
        retryMaxMs: 1000,
        registrationTimeoutMs: 2000,
        nfvoWatchMs: 500,
        shutdownGraceMs: 5000,
        ...opts.driver?.openbaton,
      },
    };
    const config = driverConfigSchema.parse(input);
    // silent: false, because IOTFOG_LOG_SILENT=1 (CI) would silence the logger itself, and with it the records.
    const logger = createLogger({ component: "driver", level: "debug", silent: false });
    // Tests wait for what the driver reports, so records are kept even when the console stays quiet.
    for (const t of logger.transports) t.silent = process.env.IOTFOG_TEST_VERBOSE !== "1";
    const logs: LogRecord[] = [];
    logger.on("data", (info: { level: string; message: unknown; part?: unknown }) => {
      logs.push({
        level: info.level,
        message: String(info.message),
        ...(typeof info.part === "string" ? { part: info.part } : {}),
      });
    });
    let started = buildDriver(config, logger);
    driver = started;
    await started.start();
    const pluginId = `vim-drivers.${config.openbaton.type}.${config.openbaton.name}`;
    const waitServing = async (timeoutMs = 20000): Promise<void> => {
      await waitFor(
        async () =>
          (await getQueues({ url: RABBIT_MGMT_URL, ...RABBIT_ADMIN }, vhost.vhost)).includes(pluginId),
        { timeoutMs, intervalMs: 100, what: `plugin queue ${pluginId}` },
      );
    };
    await waitServing();
    let driverStopped = false;
    return {
      vhost,
      emulator,
      get driver() {
        return started;
      },
      config,
      pluginId,
      vim: {
        name: `vim-${name}`,
        type: `${config.openbaton.type}.${config.openbaton.name}`,
        authUrl: "iotfog://fleet",
        active: true,
        location: { name: "Factory", latitude: "52.525876", longitude: "13.314400" },
      },
      waitServing,
      logs,
      waitForLog: async (match, since, timeoutMs = 20000) => {
        await waitFor(
          () =>
            logs
              .slice(since)
              .some(
                (l) => match.message.test(l.message) && (match.part === undefined || l.part === match.part),
              ),
          { timeoutMs, intervalMs: 50, what: `the driver to log ${String(match.message)}` },
        );
      },
      waitForNodes: async (count, timeoutMs = 20000) => {
        const vim = { name: "fleet-probe", type: `${config.openbaton.type}.${config.openbaton.name}` };
        await waitFor(
          async () =>
            ((await emulator.call(vim, "getQuota", [], "Quota")) as { instances: number }).instances ===
            count * config.fleet.maxInstancesPerNode,
          { timeoutMs, intervalMs: 100, what: `${count} live node(s) in the driver's fleet view` },
        );
      },
      stopDriver: async () => {
        if (driverStopped) return;
        driverStopped = true;
        await started.stop();
      },
      restartDriver: async () => {
        if (!driverStopped) await started.stop();
        started = buildDriver(config, logger);
        driverStopped = false;
        await started.start();
        await waitServing();
      },
      close: async () => {
        if (!driverStopped) await started.stop();
        await emulator.stop();
        await vhost.delete();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await driver?.stop().catch(() => undefined);
    await emulator.stop().catch(() => undefined);
    await vhost.delete().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
    throw e;
  }
}
