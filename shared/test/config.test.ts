import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { IotFogError, applyEnvOverrides, loadConfig } from "@openiotfog/shared";

const schema = z
  .object({
    nodeId: z.string().default("n"),
    dataDir: z.string().optional(),
    mqtt: z
      .object({ url: z.string().url(), keepalive: z.number().default(30) })
      .strict()
      .default({ url: "mqtt://x:1" }),
    debug: z.boolean().default(false),
  })
  .strict();

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-config-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe("applyEnvOverrides", () => {
  it.each([
    ["IOTFOG_MQTT__URL", "mqtt://b:1883", { mqtt: { url: "mqtt://b:1883" } }],
    ["IOTFOG_NODE_ID", "pi-07", { nodeId: "pi-07" }],
    ["IOTFOG_DATA_DIR", "/var/lib/x", { dataDir: "/var/lib/x" }],
    ["IOTFOG_MQTT__KEEPALIVE", "15", { mqtt: { keepalive: 15 } }],
    ["IOTFOG_DEBUG", "true", { debug: true }],
  ])("%s=%s sets the field with its YAML type", (name, value, expected) => {
    expect(applyEnvOverrides({}, { [name]: value })).toEqual(expected);
  });

  it("keeps sibling fields of the document", () => {
    expect(
      applyEnvOverrides({ mqtt: { url: "mqtt://a:1", keepalive: 5 } }, { IOTFOG_MQTT__URL: "mqtt://b:2" }),
    ).toEqual({
      mqtt: { url: "mqtt://b:2", keepalive: 5 },
    });
  });

  it.each([
    "IOTFOG_LOG_LEVEL",
    "IOTFOG_LOG_SILENT",
    "IOTFOG_CONFIG",
    "IOTFOG_API_TOKEN",
    "IOTFOG_TEST_MQTT_URL",
    "IOTFOG_SETUP_SKIP_BROWSER",
    "OTHER_VAR",
  ])("ignores %s (tooling, not configuration)", (name) => {
    expect(applyEnvOverrides({}, { [name]: "1" })).toEqual({});
  });
});

describe("loadConfig", () => {
  it("loads YAML, applies defaults and environment overrides", () => {
    const p = file("a.yaml", "nodeId: pi-01\nmqtt:\n  url: mqtt://broker:1883\n");
    expect(loadConfig(schema, p, { IOTFOG_MQTT__KEEPALIVE: "10" })).toEqual({
      nodeId: "pi-01",
      mqtt: { url: "mqtt://broker:1883", keepalive: 10 },
      debug: false,
    });
  });

  it("without a file, takes defaults and the environment", () => {
    expect(loadConfig(schema, undefined, { IOTFOG_NODE_ID: "env-node" }).nodeId).toBe("env-node");
  });

  it("a missing file is CONFIG_NOT_FOUND naming it", () => {
    const p = path.join(dir, "missing.yaml");
    expect(() => loadConfig(schema, p, {})).toThrow(
      new IotFogError("CONFIG_NOT_FOUND", `config file not found: ${p}`),
    );
  });

  it("a syntax error names the file, line and column", () => {
    const p = file("bad.yaml", "nodeId: a\nmqtt: [unclosed\n");
    expect(() => loadConfig(schema, p, {})).toThrow(/bad\.yaml: line 3, column 1: /);
  });

  it("every invalid field is named, with the file", () => {
    const p = file("bad.yaml", "nodeId: 5\nmqtt:\n  url: not-a-url\n  extra: 1\ntypo: true\n");
    try {
      loadConfig(schema, p, {});
      throw new Error("expected a failure");
    } catch (e) {
      expect(e).toBeInstanceOf(IotFogError);
      const err = e as IotFogError;
      expect(err.code).toBe("CONFIG_INVALID");
      expect(err.message).toContain(p);
      expect(err.message).toContain('field "nodeId": Expected string, received number');
      expect(err.message).toContain('field "mqtt.url": Invalid url');
      expect(err.message).toContain("'extra'");
      expect(err.message).toContain("'typo'");
    }
  });

  it("a document that is not a mapping is refused", () => {
    const p = file("list.yaml", "- a\n- b\n");
    expect(() => loadConfig(schema, p, {})).toThrow(/the document must be a mapping/);
  });
});
