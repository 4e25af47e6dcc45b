import { IotFogError } from "../errors";

/**
 * MQTT topic scheme for node discovery and presence (documented in docs/agent.md):
 *
 *   <prefix>/v1/nodes/<nodeId>/presence      retained; the last-will sets it offline
 *   <prefix>/v1/nodes/<nodeId>/capabilities  retained; the capability document
 *   <prefix>/v1/nodes/<nodeId>/heartbeat     periodic live resources, not retained
 *   <prefix>/v1/nodes/<nodeId>/events        device hot-plug, deployment changes, not retained
 *   <prefix>/v1/nodes/<nodeId>/usage         periodic CPU and memory of the node and its containers, not retained
 *
 * The `v1` level versions the scheme; payloads carry their own `v` as well.
 */
export const MQTT_TOPIC_VERSION = "v1";
export const nodeTopicKinds = ["presence", "capabilities", "heartbeat", "events", "usage"] as const;
export type NodeTopicKind = (typeof nodeTopicKinds)[number];

// Wildcards and separators cannot appear inside one level (NUL is refused by the broker itself).
const LEVEL = /^[^/+#]+$/;

/** A prefix is one or more topic levels without wildcards, e.g. `iotfog` or `factory-7/iotfog`. */
export function checkTopicPrefix(prefix: string): string {
  if (prefix === "" || !prefix.split("/").every((level) => LEVEL.test(level))) {
    throw new IotFogError(
      "VALIDATION_FAILED",
      `MQTT topic prefix "${prefix}" must be non-empty levels without '+', '#' or empty parts`,
    );
  }
  return prefix;
}

function checkNodeId(nodeId: string): string {
  if (!LEVEL.test(nodeId)) {
    throw new IotFogError("VALIDATION_FAILED", `node id "${nodeId}" cannot be an MQTT topic level`);
  }
  return nodeId;
}

export function nodeTopic(prefix: string, nodeId: string, kind: NodeTopicKind): string {
  return `${checkTopicPrefix(prefix)}/${MQTT_TOPIC_VERSION}/nodes/${checkNodeId(nodeId)}/${kind}`;
}

/** Subscription filter for one kind of message from every node (or one node). */
export function nodeTopicFilter(prefix: string, kind: NodeTopicKind | "#", nodeId = "+"): string {
  const node = nodeId === "+" ? "+" : checkNodeId(nodeId);
  return `${checkTopicPrefix(prefix)}/${MQTT_TOPIC_VERSION}/nodes/${node}/${kind}`;
}

/** Splits a received topic; undefined when it is not one of ours (another prefix, version or kind). */
export function parseNodeTopic(
  prefix: string,
  topic: string,
): { nodeId: string; kind: NodeTopicKind } | undefined {
  const head = `${prefix}/${MQTT_TOPIC_VERSION}/nodes/`;
  if (!topic.startsWith(head)) return undefined;
  const rest = topic.slice(head.length).split("/");
  if (rest.length !== 2) return undefined;
  const [nodeId, kind] = rest;
  if (nodeId === undefined || nodeId === "" || kind === undefined) return undefined;
  if (!(nodeTopicKinds as readonly string[]).includes(kind)) return undefined;
  return { nodeId, kind: kind as NodeTopicKind };
}
