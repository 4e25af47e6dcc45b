/**
 * The embedded aedes broker of `iotfog up` with the fleet's security (docs/security.md, "MQTT"): the same rules as
 * the generated Mosquitto configuration, through its authenticate / authorizePublish / authorizeSubscribe hooks,
 * and TLS with a certificate from the fleet CA when it listens beyond loopback.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { createLogger, nodeTopic } from "@openiotfog/shared";
import { joinFleet } from "@openiotfog/edge-agent";
import { FleetIdentity } from "@openiotfog/vim-driver";
import { EmbeddedBroker } from "../../cli/src/broker";
import { freePort, waitFor } from "../helpers/services";

jest.setTimeout(60000);

const logger = createLogger({ component: "embedded-broker-test", silent: true });
const PREFIX = "plant";

interface Creds {
  username: string;
  password: string;
}

describe("the embedded broker with the fleet's security", () => {
  let dir: string;
  let identity: FleetIdentity;
  let broker: EmbeddedBroker | undefined;
  let driver: Creds;
  const nodes: Record<string, Creds> = {};
  const clients: MqttClient[] = [];

  async function connect(url: string, opts: mqtt.IClientOptions): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    clients.push(client);
    return client;
  }

  async function refusal(url: string, opts: mqtt.IClientOptions): Promise<string> {
    try {
      const c = await connect(url, opts);
      await c.endAsync(true);
    } catch (e) {
      return String(e);
    }
    throw new Error(`connection as ${opts.username ?? "(anonymous)"} was accepted`);
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-aedes-sec-"));
    identity = (await FleetIdentity.open(path.join(dir, "fleet"))).identity;
    for (const nodeId of ["pi-a", "pi-b"]) {
      const { token } = await identity.createToken({ ttlMs: 60000, uses: 1 });
      const answer = await joinFleet({ token, nodeId, dir: path.join(dir, nodeId) }, (r) =>
        identity.enroll(r),
      );
      nodes[nodeId] = { username: answer.mqtt?.username ?? "", password: answer.mqtt?.password ?? "" };
    }
    driver = identity.driverMqttCredentials as Creds;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await broker?.stop();
    broker = undefined;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function loopbackBroker(): Promise<string> {
    broker = new EmbeddedBroker("127.0.0.1", await freePort(), logger, {
      fleetDir: path.join(dir, "fleet"),
      prefix: PREFIX,
    });
    await broker.start();
    return broker.url;
  }

  it("refuses anonymous and wrong-password clients", async () => {
    const url = await loopbackBroker();
    expect(await refusal(url, {})).toMatch(/Bad username or password/);
    expect(await refusal(url, { username: "pi-a", password: nodes["pi-b"]?.password ?? "" })).toMatch(
      /Bad username or password/,
    );
    expect(await refusal(url, { username: "pi-c", password: "x".repeat(32) })).toMatch(
      /Bad username or password/,
    );
    await (await connect(url, nodes["pi-a"] ?? {})).endAsync();
    await (await connect(url, driver)).endAsync();
  });

  it("a node publishes only under its own topics and subscribes only to what it may read", async () => {
    const url = await loopbackBroker();
    const watcher = await connect(url, driver);
    const seen: string[] = [];
    watcher.on("message", (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await watcher.subscribeAsync(`${PREFIX}/#`, { qos: 1 });
    const a = await connect(url, nodes["pi-a"] ?? {});
    const closed = new Promise<void>((resolve) => a.once("close", () => resolve()));
    // aedes ends the session of a client whose publish is refused.
    a.publish(nodeTopic(PREFIX, "pi-b", "presence"), '{"forged":true}', { qos: 0, retain: true });
    await closed;
    const a2 = await connect(url, nodes["pi-a"] ?? {});
    a2.publish(`${PREFIX}/v1/fleet/announce`, '{"forged":true}', { qos: 0 });
    const b = await connect(url, nodes["pi-b"] ?? {});
    await b.publishAsync(nodeTopic(PREFIX, "pi-b", "presence"), "own", { qos: 1 });
    await waitFor(() => seen.some((m) => m.endsWith(" own")), { what: "pi-b's own presence" });
    await waitFor(() => (broker?.refused.publish ?? 0) >= 2, { what: "both forged publishes refused" });
    expect(seen.filter((m) => m.includes("forged"))).toEqual([]);
    // Subscriptions: peers' presence yes; another node's events or the whole prefix no (SUBACK failure).
    await b.subscribeAsync(`${PREFIX}/v1/nodes/+/presence`, { qos: 1 });
    await expect(b.subscribeAsync(`${PREFIX}/v1/nodes/pi-a/events`, { qos: 1 })).rejects.toThrow(
      /Subscribe error/,
    );
    await expect(b.subscribeAsync(`${PREFIX}/#`, { qos: 1 })).rejects.toThrow(/Subscribe error/);
    expect(broker?.refused.subscription).toBe(2);
  });

  it("ends a revoked node's session and refuses it afterwards", async () => {
    const url = await loopbackBroker();
    const b = await connect(url, nodes["pi-b"] ?? {});
    const closed = new Promise<void>((resolve) => b.once("close", () => resolve()));
    await identity.revoke("pi-b");
    await closed;
    expect(await refusal(url, nodes["pi-b"] ?? {})).toMatch(/Bad username or password/);
  });

  it("beyond loopback it serves TLS with a certificate from the fleet CA", async () => {
    broker = new EmbeddedBroker("0.0.0.0", await freePort(), logger, {
      fleetDir: path.join(dir, "fleet"),
      prefix: PREFIX,
    });
    await broker.start();
    expect(broker.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:/);
    const ca = identity.mqttCaCert ?? "";
    await (await connect(broker.url, { ...driver, ca })).endAsync();
    expect(await refusal(broker.url, { ca })).toMatch(/Bad username or password/);
    expect(await refusal(broker.url, driver)).toMatch(/certificate/i);
    // Plain MQTT to the TLS port gets no session: the client's connection closes without a CONNACK.
    const plain = mqtt.connect(broker.url.replace("mqtts:", "mqtt:"), {
      ...driver,
      reconnectPeriod: 0,
      connectTimeout: 2000,
    });
    const outcome = await new Promise<string>((resolve) => {
      plain.once("connect", () => resolve("connected"));
      plain.once("close", () => resolve("closed"));
    });
    plain.end(true);
    expect(outcome).toBe("closed");
  });

  it("without the fleet's security it refuses to listen beyond loopback", async () => {
    const open = new EmbeddedBroker("0.0.0.0", await freePort(), logger);
    await expect(open.start()).rejects.toThrow(/mqtt.embeddedHost: .* without the fleet's security/);
  });
});
