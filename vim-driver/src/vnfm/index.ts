import path from "node:path";
import type { Component, Logger } from "@openiotfog/shared";
import type { DriverConfig } from "../config";
import type { AgentPool } from "../fleet/agents";
import type { EventLog } from "../fleet/events";
import { actionOf, type DriverMetrics } from "../metrics/driver-metrics";
import type { LiveFleet } from "../openbaton/fleet/live-fleet";
import { readBrokerCa } from "../openbaton/registration";
import type { VimService } from "../openbaton/vim-service";
import { FleetFogPort } from "./fog-port";
import { VnfManager } from "./manager";
import { VnfmServer } from "./server";
import { FileVnfmStateStore } from "./store";
import { encodeUserdata } from "./userdata";
import type { NfvoPort } from "./ports";

export { VnfManager } from "./manager";
export { VnfmServer } from "./server";
export { FileVnfmStateStore, type VnfmStateStore, type StoredVnfr } from "./store";
export { FleetFogPort, splitExtId } from "./fog-port";
export { translateVnf, DOCKER_VNFM_KEYS, FOG_KEYS } from "./translate";
export type { FogSpec } from "../openbaton/fog-spec";
export { dependencyEnv } from "./dependencies";
export { encodeUserdata } from "./userdata";
export type { FogPort, NfvoPort, FogFault, VnfcHandle, VnfcMove, VnfcStatus } from "./ports";

/**
 * The fog VNF manager as components of the driver process: the fault watch first (it needs nothing), then the
 * AMQP server, which hands every NFVO message to the state machine. Broker settings (URL, vhost, registration
 * user) are shared with the VIM driver's `openbaton` section.
 */
export function buildVnfm(
  config: DriverConfig,
  parts: {
    vim: VimService;
    fleet: LiveFleet;
    agents: AgentPool;
    /** The fleet's event log: VNFCs the reconciler placed again by itself (`vnfm.autoHeal`). */
    events?: EventLog;
    metrics?: DriverMetrics;
  },
  logger: Logger,
): { components: Component[]; manager: VnfManager; server: VnfmServer; fog: FleetFogPort } {
  const ob = config.openbaton;
  const v = config.vnfm;
  const fog = new FleetFogPort(
    parts.vim,
    parts.fleet,
    parts.agents,
    logger.child({ part: "vnfm-fog" }),
    v.faultCheckMs,
    parts.events,
  );
  const server = new VnfmServer(
    {
      brokerUrl: ob.brokerUrl,
      ca: readBrokerCa(ob.caFile),
      vhost: ob.vhost,
      heartbeatSeconds: ob.heartbeatSeconds,
      registrationUser: ob.registrationUser,
      registrationPassword: ob.registrationPassword,
      type: v.type,
      endpoint: v.endpoint ?? v.type,
      description: v.description,
      legacyQueue: v.legacyQueue,
      workers: v.workers,
      registrationTimeoutMs: ob.registrationTimeoutMs,
      retryInitialMs: ob.retryInitialMs,
      retryMaxMs: ob.retryMaxMs,
      rpcTimeoutMs: v.rpcTimeoutMs,
      nfvoWatchMs: ob.nfvoWatchMs,
      shutdownGraceMs: ob.shutdownGraceMs,
      onReconnect: () => parts.metrics?.amqpReconnect("vnfm"),
    },
    logger.child({ part: "vnfm" }),
  );
  const stateFile = v.stateFile ?? path.resolve(".iotfog", `vnfm-${v.type}.json`);
  const manager = new VnfManager({
    nfvo: counted(server, parts.metrics),
    fog,
    encodeUserdata,
    logger: logger.child({ part: "vnfm" }),
    store: new FileVnfmStateStore(stateFile, logger.child({ part: "vnfm-state" })),
    autoHeal: v.autoHeal,
  });
  server.setHandler(async (body) => {
    parts.metrics?.vnfmMessage(actionOf(body), "in");
    const reply = await manager.handle(body);
    if (reply !== null) parts.metrics?.vnfmMessage(actionOf(reply), "out");
    return reply;
  });
  fog.onFault((fault) => void manager.reportFault(fault));
  fog.onMove((move) => void manager.reportMove(move));
  // VNFCs of records from before a restart: watched again once the fleet view has had time to fill.
  fog.adopt(manager.vnfcIds(), config.fleet.nodeExpiryMs + v.faultCheckMs);
  return { components: [fog.watch, server], manager, server, fog };
}

/** The NFVO port with every message the VNFM sends counted by action. */
function counted(port: NfvoPort, metrics: DriverMetrics | undefined): NfvoPort {
  if (metrics === undefined) return port;
  return {
    call: (message) => {
      metrics.vnfmMessage(actionOf(message), "out");
      return port.call(message);
    },
    notify: (message) => {
      metrics.vnfmMessage(actionOf(message), "out");
      return port.notify(message);
    },
  };
}
