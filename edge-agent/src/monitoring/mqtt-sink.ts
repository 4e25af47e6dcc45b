import { MQTT_PAYLOAD_VERSION, nodeTopic, type NodeTopicKind } from "@openiotfog/shared";
import type { EventSink } from "./bus";
import type { AgentEvent } from "./events";

/** The part of the agent's MQTT connection the sink needs (not retained, QoS 1). */
export interface MqttEventPublisher {
  publish(topic: string, payload: string): Promise<void>;
  /** The presence session of this agent process (payloads carry it so observers can tell restarts apart). */
  readonly sessionId: string;
  /** Validates a payload and signs it as the node (security on), as the agent's own messages are. */
  encode(kind: NodeTopicKind, payload: unknown): string;
}

/**
 * Publishes agent events on `<prefix>/v1/nodes/<nodeId>/events` in the shared events payload: `type` is the
 * event type, `data` carries the rest of the event (seq, id, severity, time, message, the ids, and its own `data`).
 */
export class MqttEventSink implements EventSink {
  readonly name = "mqtt-events";
  private readonly topic: string;

  constructor(
    private readonly mqtt: MqttEventPublisher,
    topicPrefix: string,
    nodeId: string,
  ) {
    this.topic = nodeTopic(topicPrefix, nodeId, "events");
  }

  async publish(event: AgentEvent): Promise<void> {
    const { v: _v, type, nodeId, data, ...rest } = event;
    const payload = this.mqtt.encode("events", {
      v: MQTT_PAYLOAD_VERSION,
      nodeId,
      ts: Date.parse(event.time),
      sessionId: this.mqtt.sessionId,
      type,
      data: { ...rest, data },
    });
    await this.mqtt.publish(this.topic, payload);
  }
}
