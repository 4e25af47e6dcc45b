/**
 * MQTT secured as `iotfog fleet mqtt-config` sets it up (docs/security.md, "MQTT"): a real Mosquitto of this test's
 * own (never the shared one on 1883) on a free port with the generated configuration: TLS listener with a
 * certificate from the fleet CA, password file and ACL. A real agent and the driver's fleet view connect over
 * mqtts:// with the credentials from enrollment and the fleet directory. Checked: anonymous, wrong-password,
 * plain and CA-less clients are refused; a node's credentials cannot publish another node's presence or a
 * fleet-wide topic, nor read another node's events; the fleet view ignores a forged offline and an empty retained
 * presence even from a client the ACL lets through; a revoked node cannot log in once the driver has rewritten
 * the password file and reloaded the broker.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { createLogger, nodeTopic } from "@openiotfog/shared";
import { MQTT_CREDENTIALS_FILE, type Agent } from "@openiotfog/edge-agent";
import {
  DRIVER_MQTT_USER,
  FleetSecurity,
  MosquittoSync,
  createFleetView,
  driverConfigSchema,
  writeMosquittoConfig,
  type FleetView,
} from "@openiotfog/vim-driver";
import { freePort, uniqueName, waitFor } from "../helpers/services";
import { testFleet, testFleetDir } from "../helpers/fleet";
import { startInProcess, testAgentSetup, type TestAgentSetup } from "./agent-helpers";

jest.setTimeout(90000);

const BINARY = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => existsSync(p));
const logger = createLogger({ component: "mqtt-security-test", silent: true });

interface Creds {
  username: string;
  password: string;
}

describe("MQTT with TLS, passwords and the fleet ACL on a real Mosquitto", () => {
  let dir: string;
  let brokerDir: string;
  let port: number;
  /** The fleet's topic prefix (the agents' configs override the helper's own). */
  let prefix: string;
  let url: string;
  let ca: string;
  let broker: ChildProcess | undefined;
  let brokerOutput = "";
  let setup: TestAgentSetup;
  let other: TestAgentSetup;
  let agent: Agent | undefined;
  let security: FleetSecurity;
  let view: FleetView | undefined;
  let sync: MosquittoSync;
  let driver: Creds;
  const clients: MqttClient[] = [];

  const nodeCreds = (s: TestAgentSetup): Creds =>
    JSON.parse(readFileSync(path.join(s.config.security.dir, MQTT_CREDENTIALS_FILE), "utf8")) as Creds;

  async function connect(opts: mqtt.IClientOptions, to = url): Promise<MqttClient> {
    const client = await mqtt.connectAsync(to, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    clients.push(client);
    return client;
  }

  /** The refusal a connection attempt ends with (the test fails if it is accepted). */
  async function refusal(opts: mqtt.IClientOptions, to = url): Promise<string> {
    try {
      const c = await connect(opts, to);
      await c.endAsync(true);
    } catch (e) {
      return String(e);
    }
    throw new Error(`connection as ${opts.username ?? "(anonymous)"} to ${to} was accepted`);
  }

  beforeAll(async () => {
    if (BINARY === undefined)
      throw new Error("no mosquitto binary (Debian package mosquitto): run `bash scripts/setup.sh`");
    dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-mqttsec-"));
    brokerDir = path.join(dir, "broker");
    port = await freePort();
    url = `mqtts://127.0.0.1:${port}`;
    prefix = uniqueName("iotfog-mqttsec");
    // Two nodes of the test fleet, enrolled as `iotfog agent --join` does (credentials and CA in the answer).
    setup = await testAgentSetup({ mqtt: { url, topicPrefix: prefix } });
    other = await testAgentSetup({ mqtt: { url, topicPrefix: prefix } });
    const identity = await testFleet();
    const me = os.userInfo();
    await writeMosquittoConfig(identity, {
      out: brokerDir,
      prefix,
      port,
      bind: "127.0.0.1",
      altNames: ["DNS:localhost", "IP:127.0.0.1"],
      pidFile: path.join(brokerDir, "mosquitto.pid"),
      // As root Mosquitto would switch to the `mosquitto` user, which cannot read the test's mode-600 files.
      user: { name: me.username, uid: me.uid, gid: me.gid },
    });
    ca = readFileSync(path.join(brokerDir, "ca.crt"), "utf8");
    const child = spawn(BINARY, ["-c", path.join(brokerDir, "mosquitto.conf")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    broker = child;
    child.stdout?.on("data", (d: Buffer) => (brokerOutput += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (brokerOutput += d.toString()));
    driver = identity.driverMqttCredentials as Creds;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited: ${brokerOutput}`);
        const c = await connect({ ca, username: driver.username, password: driver.password });
        await c.endAsync();
        return true;
      },
      { timeoutMs: 15000, intervalMs: 100, what: `mosquitto (TLS) on ${port}` },
    );
    // The driver side as buildDriver wires it: fleet security, the broker's files kept in step, the fleet view.
    const config = driverConfigSchema.parse({
      mqtt: { url, topicPrefix: prefix },
      security: {
        dir: testFleetDir(),
        mosquitto: { dir: brokerDir, pidFile: path.join(brokerDir, "mosquitto.pid") },
      },
    });
    security = new FleetSecurity(config.security, logger);
    await security.start();
    sync = new MosquittoSync({
      identity: () => security.identity,
      onChange: (listener) => security.onChange(listener),
      dir: brokerDir,
      prefix,
      pidFile: path.join(brokerDir, "mosquitto.pid"),
      logger,
    });
    await sync.start();
    view = createFleetView(config, logger, security).view;
    await view.start();
    agent = await startInProcess(setup.config);
  });

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await agent?.lifecycle.stop();
    await view?.stop();
    await sync?.stop();
    broker?.kill("SIGTERM");
    await setup?.cleanup();
    await other?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("the agent and the fleet view meet over TLS with the fleet's credentials", async () => {
    await waitFor(() => view?.node(setup.nodeId)?.online === true && view.node(setup.nodeId)?.capabilities, {
      timeoutMs: 20000,
      what: "the agent online in the fleet view over mqtts://",
    });
    expect(nodeCreds(setup).username).toBe(setup.nodeId);
    expect(brokerOutput).not.toMatch(/not authori[sz]ed/i);
  });

  it("refuses anonymous, wrong-password, plain and CA-less clients", async () => {
    expect(await refusal({ ca })).toMatch(/Not authorized|Bad username/i);
    expect(await refusal({ ca, username: setup.nodeId, password: "wrong-password-0123456789" })).toMatch(
      /Not authorized|Bad username/i,
    );
    // A node's password does not make it the driver.
    expect(await refusal({ ca, username: DRIVER_MQTT_USER, password: nodeCreds(setup).password })).toMatch(
      /Not authorized|Bad username/i,
    );
    // Plain MQTT to the TLS listener, and TLS without trusting the fleet CA, get no session.
    expect(
      await refusal({ ...nodeCreds(setup), connectTimeout: 3000 }, `mqtt://127.0.0.1:${port}`),
    ).toBeTruthy();
    expect(await refusal(nodeCreds(setup))).toMatch(/certificate/i);
  });

  it("a node's credentials publish only under its own topics", async () => {
    const watcher = await connect({ ca, ...driver });
    const seen: string[] = [];
    watcher.on("message", (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await watcher.subscribeAsync(`${prefix}/#`, { qos: 1 });
    const a = await connect({ ca, ...nodeCreds(other) });
    const forged = JSON.stringify({ forged: true });
    // Another node's presence (a forged offline), and a fleet-wide topic only the driver writes.
    await a.publishAsync(nodeTopic(prefix, setup.nodeId, "presence"), forged, { qos: 1, retain: true });
    await a.publishAsync(`${prefix}/v1/fleet/announce`, forged, { qos: 1 });
    // Its own topic, last: Mosquitto delivers one client's messages in order, so what was refused is known.
    await a.publishAsync(nodeTopic(prefix, other.nodeId, "events"), "own", { qos: 1 });
    await waitFor(() => seen.some((m) => m.endsWith(" own")), {
      what: "the node's message on its own topic",
    });
    expect(seen.filter((m) => m.includes('"forged"'))).toEqual([]);
    // The driver writes fleet-wide topics.
    const d = await connect({ ca, ...driver });
    await d.publishAsync(`${prefix}/v1/fleet/announce`, "from-driver", { qos: 1 });
    await waitFor(() => seen.some((m) => m.endsWith(" from-driver")), {
      what: "the driver's fleet-wide message",
    });
    expect(view?.node(setup.nodeId)?.online).toBe(true);
  });

  it("a node reads its peers' presence but not their events", async () => {
    const b = await connect({ ca, ...nodeCreds(other) });
    const seen: string[] = [];
    b.on("message", (topic) => seen.push(topic));
    await b.subscribeAsync([`${prefix}/v1/nodes/+/presence`, `${prefix}/v1/nodes/${setup.nodeId}/events`], {
      qos: 1,
    });
    // The agent's events, then a presence the driver publishes (allowed to be read): events never arrive.
    const d = await connect({ ca, ...driver });
    await d.publishAsync(nodeTopic(prefix, setup.nodeId, "events"), "{}", { qos: 1 });
    await d.publishAsync(nodeTopic(prefix, "marker-node", "presence"), "{}", { qos: 1 });
    await waitFor(() => seen.includes(nodeTopic(prefix, "marker-node", "presence")), { what: "the marker" });
    expect(seen).toContain(nodeTopic(prefix, setup.nodeId, "presence"));
    expect(seen).not.toContain(nodeTopic(prefix, setup.nodeId, "events"));
    await d.publishAsync(nodeTopic(prefix, "marker-node", "presence"), "", { qos: 1, retain: true });
  });

  it("the fleet view ignores a forged offline and an empty retained presence, whoever sends them", async () => {
    // Sent with the driver's own credentials: what a broker without ACLs, or a leaked password, would let through.
    const d = await connect({ ca, ...driver });
    const before = view?.unauthenticated.total ?? 0;
    const topic = nodeTopic(prefix, setup.nodeId, "presence");
    const session = agent?.presence.sessionId ?? "";
    const forged = {
      v: 1,
      nodeId: setup.nodeId,
      ts: Date.now(),
      sessionId: session,
      state: "offline",
      reason: "shutdown",
      agentVersion: "0.1.0",
      protocolVersion: 1,
      startedAt: 1,
      heartbeatIntervalMs: 300,
      expiryMs: 1500,
    };
    await d.publishAsync(topic, JSON.stringify(forged), { qos: 1 });
    await d.publishAsync(topic, JSON.stringify({ ...forged, mac: "0".repeat(64) }), { qos: 1 });
    await d.publishAsync(topic, "", { qos: 1, retain: true });
    await waitFor(() => (view?.unauthenticated.total ?? 0) >= before + 3, {
      what: "the three forgeries refused",
    });
    expect(view?.node(setup.nodeId)?.online).toBe(true);
    // The agent's own goodbye still counts (and the agent answers a cleared retained presence by republishing).
    await agent?.lifecycle.stop();
    agent = undefined;
    await waitFor(() => view?.node(setup.nodeId)?.online === false, { what: "the agent's signed offline" });
    expect(view?.node(setup.nodeId)?.offlineReason).toBe("shutdown");
  });

  it("a revoked node cannot log in once the driver rewrote the password file and reloaded Mosquitto", async () => {
    const creds = nodeCreds(other);
    const before = await connect({ ca, ...creds });
    await before.endAsync();
    await security.identity.revoke(other.nodeId);
    const refusedAfter = await waitFor(
      async () => {
        try {
          const c = await connect({ ca, ...creds });
          await c.endAsync(true);
          return false;
        } catch (e) {
          return String(e);
        }
      },
      { timeoutMs: 10000, intervalMs: 200, what: "the revoked node's login refused" },
    );
    expect(refusedAfter).toMatch(/Not authorized|Bad username/i);
    expect(readFileSync(path.join(brokerDir, "passwd"), "utf8")).not.toContain(`${other.nodeId}:`);
  });
});
