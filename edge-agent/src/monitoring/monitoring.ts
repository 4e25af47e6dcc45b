import Docker from "dockerode";
import type { Component, Logger, NodeTopicKind } from "@openiotfog/shared";
import { optionalPart } from "../optional-part";
import type { PeerInfo } from "../presence/peers";
import { EventBus } from "./bus";
import type { MonitoringConfig } from "./config";
import { ContainerEventWatcher } from "./docker-events";
import { MqttEventSink } from "./mqtt-sink";
import { ZmqEventPublisher } from "./zmq-publisher";
import type { NodeSecurity } from "../security/node-security";

/** The configuration sections monitoring reads. */
export interface MonitoringOptions {
  nodeId: string;
  mqtt: { topicPrefix: string };
  runtime: { name: string; docker: { socketPath: string } };
  monitoring: MonitoringConfig;
}

/** The MQTT presence as monitoring sees it: where events are published and which peers come and go. */
export interface MonitoredPresence {
  readonly sessionId: string;
  publish(topic: string, payload: string): Promise<void>;
  encode(kind: NodeTopicKind, payload: unknown): string;
  readonly peers: { on(event: "online" | "offline", listener: (peer: PeerInfo) => void): unknown };
}

export interface Monitoring {
  /** Every agent event (docs/agent-events.md); the parts that act report here, monitoring only observes. */
  bus: EventBus;
  /** The events PUB socket. */
  events: ZmqEventPublisher;
  /** Started before the core: the events PUB socket and the container watcher, so start-up events are seen. */
  early: Component[];
  /** Started after MQTT presence: the MQTT outlet and the peers' comings and goings. */
  late: Component[];
}

/**
 * The agent's monitoring: the event bus and its outlets (ZeroMQ PUB, MQTT), Docker's container events and the
 * peers heard on MQTT turned into events. It observes; nothing here takes part in a deploy.
 */
export function createMonitoring(
  config: MonitoringOptions,
  presence: MonitoredPresence,
  logger: Logger,
  /** The node's keys and trust list: the events PUB is a CurveZMQ server with security on. */
  security?: NodeSecurity,
): Monitoring {
  const log = (part: string): Logger => logger.child({ part });
  const bus = new EventBus({
    nodeId: config.nodeId,
    logger: log("events"),
    historySize: config.monitoring.historySize,
  });
  const events = new ZmqEventPublisher(config.monitoring.pubBind, log("events-pub"), security);
  bus.addSink(events);

  // Hooked in once MQTT presence has started.
  const outlets: Component = {
    name: "monitoring-outlets",
    start: async () => {
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
    },
    stop: async () => undefined,
  };

  const early: Component[] = [optionalPart(events, logger)];
  if (config.monitoring.containerEvents && config.runtime.name === "docker") {
    early.push(
      new ContainerEventWatcher(
        new Docker({ socketPath: config.runtime.docker.socketPath }),
        config.nodeId,
        bus,
        log("container-events"),
      ),
    );
  }
  return { bus, events, early, late: [outlets] };
}
