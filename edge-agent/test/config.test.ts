import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "@openiotfog/shared";
import { agentConfigSchema, resolveAgentConfig } from "@openiotfog/edge-agent";

describe("agent configuration", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-config-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const file = (text: string): string => {
    const f = path.join(dir, "agent.yaml");
    writeFileSync(f, text);
    return f;
  };

  it("fills defaults that notice a dead node in under 10 s", () => {
    const c = resolveAgentConfig(loadConfig(agentConfigSchema, file("nodeId: pi-1\n"), {}));
    expect(c.presence.expiryMs).toBeLessThan(10000);
    expect(c.mqtt.keepaliveSeconds * 1.5 * 1000).toBeLessThan(10000);
    expect(c.zmq.bind).toBe("tcp://0.0.0.0:5555");
    expect(c.discovery).toMatchObject({ sysRoot: "/sys", devRoot: "/dev" });
    expect(c.dataDir).toBe(path.resolve(".iotfog", "agent-pi-1"));
  });

  it("names the file and every bad field", () => {
    const f = file(
      "nodeId: pi-1\nzmq: { bind: 'http://x' }\npresence: { heartbeatIntervalMs: 5000, expiryMs: 1000 }\n",
    );
    expect(() => loadConfig(agentConfigSchema, f, {})).toThrow(
      expect.objectContaining({
        code: "CONFIG_INVALID",
        message: expect.stringMatching(
          /agent\.yaml: .*field "zmq\.bind".*field "presence".*expiryMs must be longer/,
        ),
      }),
    );
    expect(() =>
      loadConfig(agentConfigSchema, file("software: [{ name: x, version: '1', file: /etc/x }]\n"), {}),
    ).toThrow(/needs exactly one of version, command, file/);
    expect(() =>
      loadConfig(agentConfigSchema, file("discovery: { deviceRules: [{ vendorId: zz, class: Zig }] }\n"), {}),
    ).toThrow(/discovery\.deviceRules\[0\]\.vendorId.*discovery\.deviceRules\[0\]\.class/);
    // Device-rule patterns run on the linear-time engine (RE2 syntax): a back-reference is reported, field named.
    expect(() =>
      loadConfig(
        agentConfigSchema,
        file("discovery: { deviceRules: [{ vendorId: '10c4', match: '(a)\\1', class: zigbee }] }\n"),
        {},
      ),
    ).toThrow(/discovery\.deviceRules\[0\]\.match.*invalid regular expression/);
  });

  it("has a least-privilege host-safety policy unless the operator widens it, and names its bad fields", () => {
    const strict = resolveAgentConfig(loadConfig(agentConfigSchema, file("nodeId: pi-1\n"), {}));
    expect(strict.hostPolicy).toEqual({
      allowBindMounts: [],
      allowDevicePaths: [],
      allowHostNetwork: false,
      allowNetworks: [],
      allowNetworkDrivers: ["bridge"],
    });
    const widened = loadConfig(
      agentConfigSchema,
      file("hostPolicy: { allowBindMounts: [/var/lib/line2/], allowHostNetwork: true }\n"),
      {},
    );
    expect(widened.hostPolicy).toMatchObject({ allowBindMounts: ["/var/lib/line2"], allowHostNetwork: true });
    expect(() =>
      loadConfig(
        agentConfigSchema,
        file("hostPolicy: { allowBindMounts: [srv], allowPrivileged: true }\n"),
        {},
      ),
    ).toThrow(/field "hostPolicy\.allowBindMounts\[0\]": must be an absolute host path.*allowPrivileged/);
  });

  it("takes environment overrides with their types", () => {
    const c = loadConfig(agentConfigSchema, file("nodeId: pi-1\n"), {
      IOTFOG_MQTT__KEEPALIVE_SECONDS: "2",
      IOTFOG_DISCOVERY__SYS_ROOT: "/host/sys",
      IOTFOG_ZMQ__BIND: "tcp://127.0.0.1:6000",
    });
    expect(c.mqtt.keepaliveSeconds).toBe(2);
    expect(c.discovery.sysRoot).toBe("/host/sys");
    expect(c.zmq.bind).toBe("tcp://127.0.0.1:6000");
  });
});
