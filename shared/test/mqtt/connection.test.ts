import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import {
  NodeMessageSigner,
  canonicalJson,
  describeMqttConnection,
  generateKeyPair,
  mqttClientAuthOptions,
  mqttConnectionFields,
  refineMqttConnection,
  resolveMqttConnection,
  sharedSecret,
  verifyNodePayload,
} from "../../src";

const fleet = { username: "pi-1", password: "p".repeat(32), caCert: "-----BEGIN CERTIFICATE-----\nfleet\n" };
const section = z.object(mqttConnectionFields).strict().superRefine(refineMqttConnection);

describe("MQTT connection settings", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "mqtt-conn-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("uses the fleet's credentials and CA over TLS", () => {
    const { connection, warning } = resolveMqttConnection({ url: "mqtts://broker.lan:8883" }, fleet);
    expect(connection).toMatchObject({
      username: "pi-1",
      password: fleet.password,
      ca: fleet.caCert,
      auth: "fleet",
    });
    expect(warning).toBeUndefined();
    expect(mqttClientAuthOptions(connection)).toMatchObject({ rejectUnauthorized: true, ca: fleet.caCert });
  });

  it("uses them on loopback, never in clear to another host", () => {
    expect(resolveMqttConnection({ url: "mqtt://127.0.0.1:1883" }, fleet).connection.auth).toBe("fleet");
    const far = resolveMqttConnection({ url: "mqtt://10.0.0.5:1883" }, fleet);
    expect(far.connection).toEqual({ url: "mqtt://10.0.0.5:1883", auth: "anonymous" });
    expect(far.warning).toMatch(/not sent in clear/);
  });

  it("configured credentials and CA win; a password file must be owner-only", () => {
    const ca = path.join(dir, "ca.pem");
    writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nown\n");
    const pw = path.join(dir, "pw");
    writeFileSync(pw, "from-file\n", { mode: 0o600 });
    const { connection } = resolveMqttConnection(
      { url: "mqtts://b:8883", username: "op", passwordFile: pw, caFile: ca },
      fleet,
    );
    expect(connection).toMatchObject({ username: "op", password: "from-file", auth: "config" });
    expect(connection.ca).toContain("own");
    chmodSync(pw, 0o644);
    expect(() =>
      resolveMqttConnection({ url: "mqtts://b:8883", username: "op", passwordFile: pw }, fleet),
    ).toThrow(/mqtt.passwordFile: secret file .* has mode 0644/);
  });

  it("refuses a CA for a plain URL, two passwords, a password without user, other schemes", () => {
    const problems = (input: unknown): string[] => {
      const r = section.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(problems({ url: "mqtt://b:1883", caFile: "/ca" })).toEqual([
      "url: must be an mqtts:// (or wss://) URL when caFile is set",
    ]);
    expect(problems({ username: "u", password: "a", passwordFile: "/f" })).toEqual([
      "passwordFile: give password or passwordFile, not both",
    ]);
    expect(problems({ password: "a" })).toEqual(["username: a password needs a username"]);
    expect(problems({ url: "http://b:80" })).toEqual([
      "url: must be an mqtt://, mqtts://, ws:// or wss:// URL",
    ]);
    expect(problems({ url: "mqtts://b:8883", caFile: "/ca" })).toEqual([]);
  });

  it("describes a connection without its password", () => {
    const { connection } = resolveMqttConnection({ url: "mqtts://broker.lan:8883" }, fleet);
    const text = JSON.stringify(describeMqttConnection(connection));
    expect(text).toContain("pi-1");
    expect(text).not.toContain(fleet.password);
  });
});

describe("node message MACs", () => {
  const fleetKeys = generateKeyPair();
  const node = generateKeyPair();
  const payload = { v: 1, nodeId: "pi-1", ts: 5, sessionId: "s", nested: { b: 1, a: [2, { d: 1, c: 2 }] } };

  it("the fleet verifies what the node signed; a change, another kind or another key is refused", () => {
    const signed = new NodeMessageSigner(
      () => node,
      () => fleetKeys.publicKey,
    ).sign("presence", payload);
    const secret = sharedSecret(fleetKeys, node.publicKey);
    expect(verifyNodePayload("presence", signed, [secret])).toBe(true);
    expect(verifyNodePayload("heartbeat", signed, [secret])).toBe(false);
    expect(verifyNodePayload("presence", { ...signed, ts: 6 }, [secret])).toBe(false);
    expect(verifyNodePayload("presence", payload, [secret])).toBe(false);
    const other = sharedSecret(fleetKeys, generateKeyPair().publicKey);
    expect(verifyNodePayload("presence", signed, [other])).toBe(false);
    expect(verifyNodePayload("presence", signed, [other, secret])).toBe(true);
  });

  it("canonical JSON sorts keys at every depth", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ f: 1, e: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[{"e":2,"f":1}]},"b":1}',
    );
  });

  it("without a fleet key (not enrolled) nothing is signed", () => {
    expect(
      new NodeMessageSigner(
        () => node,
        () => undefined,
      ).sign("presence", payload),
    ).toEqual(payload);
  });
});
