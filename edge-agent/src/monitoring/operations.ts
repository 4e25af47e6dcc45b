import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import Docker from "dockerode";
import {
  errorMessage,
  readSecretFile,
  serveMetrics,
  type MetricsSource,
  type Component,
  type DeployParams,
  type DeployResult,
  type DeploymentInfo,
  type Device,
  type Logger,
  type NodeCapabilities,
  type PresenceEndpoints,
} from "@openiotfog/shared";
import type { DeviceRule } from "../config";
import { BUILTIN_DEVICE_RULES, matchDeviceRule } from "../discovery/device-rules";
import type { PeerInfo } from "../presence/peers";
import type { CommandHandlers } from "../endpoint/server";
import { advertisedAddress } from "../endpoint/server";
import type { ForwardingConfig } from "../forwarding/config";
import type { ForwardCandidate } from "../forwarding/decide";
import type { AgentMetricsConfig } from "../metrics/config";
import { scrapeToken } from "../metrics/scrape-token";
import { DeployForwarder } from "../forwarding/forwarder";
import { deployPipeline, type DeployFn, type ForwardableDeployParams } from "../forwarding/pipeline";
import type { HardwareConfig } from "../hardware/config";
import { HardwareEventEndpoint } from "../hardware/endpoint";
import { HardwareEventHandler } from "../hardware/handler";
import { DeviceLeaseGate } from "../hardware/leases";
import { UdevListener, hasUdevadm, type UsbClassifier } from "../hardware/udev";
import { DeviceUsageTracker } from "../hardware/usage";
import { AgentRestBackend } from "../rest/agent-backend";
import type { RestApp, createRestApp } from "../rest/app";
import type { RestConfig } from "../rest/config";
import { RestServer } from "../rest/server";
import { EventBus } from "./bus";
import type { MonitoringConfig } from "./config";
import { ContainerEventWatcher } from "./docker-events";
import { MqttEventSink } from "./mqtt-sink";
import { ZmqEventPublisher } from "./zmq-publisher";

/** What `require("../rest/app")` returns (the module is loaded lazily, see the REST component below). */
interface RestAppModule {
  createRestApp: typeof createRestApp;
}

/** The configuration sections this part of the agent reads. */
export interface OperationsConfig {
  nodeId: string;
  dataDir: string;
  mqtt: { topicPrefix: string };
  runtime: { name: string; docker: { socketPath: string } };
  discovery: { deviceRules: DeviceRule[] };
  hardware: HardwareConfig;
  monitoring: MonitoringConfig;
  rest: RestConfig;
  forwarding: ForwardingConfig;
  metrics: AgentMetricsConfig;
}

/** The agent core's parts this layer builds on (structural: the core's classes satisfy it). */
export interface CoreParts {
  config: OperationsConfig;
  logger: Logger;
  startedAt: number;
  runtime: { readonly name: string; listContainers(): Promise<unknown[]> };
  capabilities: {
    current(): NodeCapabilities;
    rescanDevices(): Promise<unknown>;
    setDeviceOverlay(overlay: ((discovered: Device[]) => Device[]) | undefined): void;
    on(event: "devices", listener: () => void): unknown;
  };
  deployments: {
    deploy(params: DeployParams): Promise<DeployResult>;
    list(): Promise<DeploymentInfo[]>;
    removeDeployment(id: string, timeoutSeconds: number): Promise<{ deploymentId: string; removed: boolean }>;
    /** Re-creates the deployment's container with its devices at their current host paths. */
    restoreDevices(id: string, devices: Device[]): Promise<unknown>;
  };
  /** Created after the command endpoint, so reached lazily. */
  presence: () =>
    | {
        readonly sessionId: string;
        publish(topic: string, payload: string): Promise<void>;
        readonly peers: {
          list(): PeerInfo[];
          on(event: "online" | "offline", listener: (peer: PeerInfo) => void): unknown;
        };
      }
    | undefined;
  /** The command endpoint's advertised address. */
  commandEndpoint: () => string;
  /** The agent's metrics, served at /metrics on the REST listener. */
  metrics: MetricsSource;
}

export interface Operations {
  bus: EventBus;
  hardware: HardwareEventHandler;
  hardwareEndpoint: HardwareEventEndpoint;
  events: ZmqEventPublisher;
  tracker: DeviceUsageTracker;
  forwarder: DeployForwarder;
  /** Deploy through admission, leases and forwarding (used by the command endpoint and REST). */
  deploy: DeployFn;
  /** The REST API's URL once started (undefined when disabled). */
  restUrl: () => string | undefined;
  /** Started before the core: the events PUB socket and the container watcher, so start-up events are seen. */
  early: Component[];
  /** Started after MQTT presence. */
  late: Component[];
  /** The command handlers with deploy going through the pipeline. */
  wrapHandlers(handlers: CommandHandlers): CommandHandlers;
  /** Every address this agent serves, for status, logs and the MQTT presence. */
  endpoints(): PresenceEndpoints;
}

/**
 * The agent's job is to keep its services running: an auxiliary endpoint that cannot bind (a port taken by
 * another agent on the same machine, a typo) is logged loudly and left out of the status, never fatal.
 */
function nonFatal(component: Component, logger: Logger): Component {
  let started = false;
  return {
    name: component.name,
    start: async () => {
      try {
        await component.start();
        started = true;
      } catch (e) {
        logger.error("optional part failed to start; the agent runs without it", {
          name: component.name,
          error: errorMessage(e),
        });
      }
    },
    stop: async () => {
      if (started) await component.stop();
      started = false;
    },
  };
}

/** An http URL made reachable from other machines: a wildcard host becomes the first external IPv4 address. */
function advertisedUrl(url: string): string {
  const scheme = url.startsWith("https:") ? "https:" : "http:";
  return advertisedAddress(url.replace(/^https?:/, "tcp:")).replace(/^tcp:/, scheme);
}

function classifierFrom(rules: readonly DeviceRule[]): UsbClassifier {
  const all = [...rules, ...BUILTIN_DEVICE_RULES];
  return (usb, fallback) => {
    const rule = usb === undefined ? undefined : matchDeviceRule(usb, all);
    if (rule === undefined) return { class: fallback };
    return rule.protocols.length > 0
      ? { class: rule.class, protocols: rule.protocols }
      : { class: rule.class };
  };
}

/**
 * The REST token from the config, or one generated once and kept in the data directory (mode 0600). A kept
 * file that group or other users may read is refused, not replaced: the operator must see that it leaked.
 */
async function restToken(config: OperationsConfig, logger: Logger): Promise<string> {
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
 * Builds issue 5's half of the agent over the core: the monitoring event bus and its outlets, the hardware
 * event endpoint (and udev listener), devices of running services, the deploy pipeline with forwarding, and the
 * local REST API. The composition root (agent.ts) adds `early` and `late` to its lifecycle.
 */
export function createOperations(core: CoreParts): Operations {
  const { config, logger } = core;
  const log = (part: string): Logger => logger.child({ part });
  const bus = new EventBus({
    nodeId: config.nodeId,
    logger: log("events"),
    historySize: config.monitoring.historySize,
  });
  const events = new ZmqEventPublisher(config.monitoring.pubBind, log("events-pub"));
  bus.addSink(events);

  // Hot-plug events layered over discovery: the capability service applies the overlay on every scan.
  let discovered: Device[] = [];
  const hardware = new HardwareEventHandler({
    logger: log("hardware"),
    bus,
    discovered: () => discovered,
    onChange: async () => {
      // A scan already in flight may have read the overlay before this change: scan until it shows.
      for (let i = 0; i < 3; i++) {
        await core.capabilities.rescanDevices();
        const want = JSON.stringify(
          hardware
            .currentDevices()
            .map((d) => d.id)
            .sort(),
        );
        const have = JSON.stringify(
          core.capabilities
            .current()
            .devices.map((d) => d.id)
            .sort(),
        );
        if (want === have) return;
      }
    },
  });
  core.capabilities.setDeviceOverlay((found) => {
    discovered = found;
    return hardware.devices.merge(found);
  });
  const hardwareEndpoint = new HardwareEventEndpoint(config.hardware.bind, hardware, log("hardware"));

  const tracker = new DeviceUsageTracker(
    {
      list: async () =>
        (await core.deployments.list()).map((d) => ({
          deploymentId: d.deploymentId,
          service: d.service,
          devices: d.devices,
        })),
      restore: async (id, devices) => void (await core.deployments.restoreDevices(id, devices)),
    },
    bus,
    log("devices"),
  );
  core.capabilities.on("devices", () => void tracker.reconcile(core.capabilities.current().devices));

  const peers = (): ForwardCandidate[] =>
    (core.presence()?.peers.list() ?? [])
      .filter((p) => p.state === "online" && p.capabilities !== undefined)
      .map((p) => ({
        nodeId: p.nodeId,
        endpoint: p.endpoint,
        state: { capabilities: p.capabilities as NodeCapabilities, online: true, allocations: [] },
      }));
  const forwarder = new DeployForwarder({
    selfNodeId: config.nodeId,
    config: config.forwarding,
    peers,
    bus,
    logger: log("forwarding"),
  });
  const deploy = deployPipeline({
    selfNodeId: config.nodeId,
    local: (p) => core.deployments.deploy(p),
    leases: new DeviceLeaseGate(),
    forwarder,
    bus,
  });

  const endpoints = (): PresenceEndpoints => {
    const out: PresenceEndpoints = { commands: core.commandEndpoint() };
    // Only what is actually served: an auxiliary endpoint that could not bind is left out.
    if (hardwareEndpoint.endpoint !== "") {
      out.hardwareEvents = config.hardware.advertise ?? advertisedAddress(hardwareEndpoint.endpoint);
    }
    if (events.endpoint !== "")
      out.events = config.monitoring.pubAdvertise ?? advertisedAddress(events.endpoint);
    const url = rest?.url;
    if (url !== undefined) out.rest = config.rest.advertise ?? advertisedUrl(url);
    return out;
  };

  let rest: RestServer | undefined;
  const restComponent: Component = {
    name: "rest-api",
    start: async () => {
      if (!config.rest.enabled) return;
      const backend = new AgentRestBackend({
        nodeId: config.nodeId,
        startedAt: core.startedAt,
        capabilities: core.capabilities,
        deployments: core.deployments,
        runtime: core.runtime,
        deploy,
        bus,
        hardwareStats: () => hardware.getStats(),
        tracker,
        peers: () =>
          (core.presence()?.peers.list() ?? []).map((p) => ({
            nodeId: p.nodeId,
            state: p.state,
            lastSeen: p.lastSeen,
            ...(p.endpoint === undefined ? {} : { endpoint: p.endpoint }),
          })),
        endpoints,
        defaultHopLimit: config.forwarding.hopLimit,
      });
      const token = await restToken(config, log("rest"));
      const build = (): RestApp => {
        // Loaded on the first request only (see RestServer): express is the agent's largest optional module.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { createRestApp } = require("../rest/app") as RestAppModule;
        return createRestApp({ backend, token, openReads: config.rest.openReads, logger: log("rest") });
      };
      const tokens = [token, ...(await scrapeToken(config.metrics))];
      const metrics = config.metrics.enabled
        ? serveMetrics.bind(undefined, {
            registry: core.metrics,
            tokens,
            open: config.rest.openReads,
            realm: "iotfog-agent",
          })
        : undefined;
      rest = new RestServer(
        build,
        config.rest.host,
        config.rest.port,
        log("rest"),
        { tls: config.rest.tls, insecurePlainHttp: config.rest.insecurePlainHttp },
        metrics,
      );
      await rest.start();
    },
    stop: async () => {
      await rest?.stop();
      rest = undefined;
    },
  };

  // Peers and the device check hook in once MQTT presence and the deployments exist.
  const watchers: Component = {
    name: "operations-watchers",
    start: async () => {
      const presence = core.presence();
      if (presence !== undefined) {
        if (config.monitoring.mqtt)
          bus.addSink(new MqttEventSink(presence, config.mqtt.topicPrefix, config.nodeId));
        presence.peers.on("online", (p) =>
          bus.emit({
            type: "peer.appeared",
            message: `peer ${p.nodeId} is online`,
            peerId: p.nodeId,
            data: { endpoint: p.endpoint },
          }),
        );
        presence.peers.on("offline", (p) =>
          bus.emit({
            type: "peer.lost",
            message: `peer ${p.nodeId} is ${p.state}`,
            peerId: p.nodeId,
            data: { state: p.state },
          }),
        );
      }
      // A device may have gone while the agent was down: check what the deployments use now.
      await tracker.reconcile(core.capabilities.current().devices);
    },
    stop: async () => undefined,
  };

  const early: Component[] = [nonFatal(events, logger)];
  const late: Component[] = [watchers, nonFatal(hardwareEndpoint, logger)];
  const udev = config.hardware.udev;
  if (udev === true || (udev === "auto" && hasUdevadm())) {
    late.push(new UdevListener(hardware, classifierFrom(config.discovery.deviceRules), log("udev")));
  }
  if (config.monitoring.containerEvents && core.runtime.name === "docker") {
    early.push(
      new ContainerEventWatcher(
        new Docker({ socketPath: config.runtime.docker.socketPath }),
        config.nodeId,
        bus,
        log("container-events"),
      ),
    );
  }
  late.push(forwarder, nonFatal(restComponent, logger));

  return {
    bus,
    hardware,
    hardwareEndpoint,
    events,
    tracker,
    forwarder,
    deploy,
    restUrl: () => rest?.url,
    early,
    late,
    wrapHandlers: (handlers) => ({
      ...handlers,
      deploy: (params) => deploy(params as ForwardableDeployParams),
    }),
    endpoints,
  };
}
