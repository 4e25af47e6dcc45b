import { MQTT_TOPIC_VERSION, checkTopicPrefix } from "@openiotfog/shared";

/**
 * Who may do what on the fleet's MQTT topics (least privilege), one rule set for the generated Mosquitto ACL and
 * the embedded broker's hooks:
 *
 * - the driver (DRIVER_MQTT_USER) reads and writes everything under `<prefix>/`: only it writes fleet-wide topics;
 * - a node (user name = its node id) writes only under `<prefix>/v1/nodes/<its id>/` and reads its own topics and
 *   the other nodes' presence, capabilities and heartbeats (its peer table); not their events;
 * - nobody else: no anonymous client, no topic outside the prefix.
 */
export const PEER_READABLE_KINDS = ["presence", "capabilities", "heartbeat"] as const;

export interface MqttAccessRules {
  prefix: string;
  driverUser: string;
}

const levels = (topic: string): string[] => topic.split("/");

function nodesLevel(rules: MqttAccessRules): string[] {
  return [...levels(checkTopicPrefix(rules.prefix)), MQTT_TOPIC_VERSION, "nodes"];
}

function startsWith(parts: string[], head: string[]): boolean {
  return parts.length > head.length && head.every((l, i) => parts[i] === l);
}

/** May `username` publish on `topic` (a topic name, no wildcards)? */
export function mayPublish(rules: MqttAccessRules, username: string | undefined, topic: string): boolean {
  if (username === undefined || topic.includes("+") || topic.includes("#")) return false;
  const parts = levels(topic);
  if (username === rules.driverUser) return startsWith(parts, levels(rules.prefix));
  return startsWith(parts, [...nodesLevel(rules), username]);
}

/** May `username` subscribe to `filter` (wildcards allowed)? Only filters inside what it may read. */
export function maySubscribe(rules: MqttAccessRules, username: string | undefined, filter: string): boolean {
  if (username === undefined) return false;
  const parts = levels(filter);
  if (username === rules.driverUser) return startsWith(parts, levels(rules.prefix));
  const head = nodesLevel(rules);
  if (startsWith(parts, [...head, username])) return true;
  const rest = parts.slice(head.length);
  return (
    startsWith(parts, head) &&
    rest.length === 2 &&
    rest[0] !== "#" &&
    (PEER_READABLE_KINDS as readonly string[]).includes(rest[1] ?? "")
  );
}

/** The same rules as a Mosquitto ACL file (`acl_file`). */
export function mosquittoAcl(rules: MqttAccessRules): string {
  const nodes = nodesLevel(rules).join("/");
  return [
    "# OpenIoTFog fleet ACL: written by `iotfog fleet mqtt-config` and by the driver (security.mosquitto).",
    "# The driver reads and writes the whole fleet prefix; only it writes fleet-wide topics.",
    `user ${rules.driverUser}`,
    `topic readwrite ${rules.prefix}/#`,
    "",
    "# Every node (user name = node id): its own topics, and its peers' presence, capabilities and heartbeats.",
    `pattern readwrite ${nodes}/%u/#`,
    ...PEER_READABLE_KINDS.map((k) => `pattern read ${nodes}/+/${k}`),
    "",
  ].join("\n");
}

/** A Mosquitto password file (`password_file`) from user names and `$7$` hashes. */
export function mosquittoPasswordFile(entries: Array<{ username: string; hash: string }>): string {
  return entries.map((e) => `${e.username}:${e.hash}\n`).join("");
}

export interface MosquittoConfOptions {
  /** Directory holding acl, passwd, ca.crt, server.crt, server.key. */
  dir: string;
  port: number;
  /** Address the TLS listener binds; default: every address. */
  bind?: string | undefined;
  pidFile?: string | undefined;
  /** The user Mosquitto runs as when started by root (its default is `mosquitto`); it must read the files. */
  user?: string | undefined;
}

/** mosquitto.conf for the fleet: one TLS listener, no anonymous clients, the password file and the ACL. */
export function mosquittoConf(o: MosquittoConfOptions): string {
  const file = (name: string): string => `${o.dir}/${name}`;
  return [
    '# OpenIoTFog fleet broker: written by `iotfog fleet mqtt-config` (docs/security.md, "MQTT").',
    "# Run: mosquitto -c <this file>. After an enrollment or revocation the driver rewrites passwd and acl",
    "# (security.mosquitto) and sends SIGHUP, which makes Mosquitto read them again.",
    "per_listener_settings false",
    "allow_anonymous false",
    `password_file ${file("passwd")}`,
    `acl_file ${file("acl")}`,
    ...(o.pidFile === undefined ? [] : [`pid_file ${o.pidFile}`]),
    ...(o.user === undefined ? [] : [`user ${o.user}`]),
    "",
    `listener ${o.port}${o.bind === undefined ? "" : ` ${o.bind}`}`,
    "protocol mqtt",
    `cafile ${file("ca.crt")}`,
    `certfile ${file("server.crt")}`,
    `keyfile ${file("server.key")}`,
    "tls_version tlsv1.2",
    "",
  ].join("\n");
}
