import { isIotFogError, parseConstraints } from "@openiotfog/shared";
import type { Flavor } from "../../src/config";
import type { ConnectionPoint, VimInstance } from "../../src/openbaton/catalogue";
import { parseFogSpec, formatFogSpec } from "../../src/openbaton/fog-spec";
import {
  configuredFlavour,
  flavourFor,
  serviceName,
  translateLaunch,
} from "../../src/openbaton/launch-translation";
import type { LaunchRequest } from "../../src/openbaton/methods";

/**
 * The launch translation without a fleet: an Open Baton launch request (VIM metadata, connection points and their
 * metadata, flavour, fog spec) → the ServiceSpec the fleet places and the DNS names per virtual link. The whole
 * launch over a real broker and agents is test/integration/driver-fleet.test.ts.
 */

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const flavors: Flavor[] = [
  { name: "m1.small", vcpus: 1, ramMb: 256, diskGb: 1 },
  { name: "m1.tiny", vcpus: 0, ramMb: 0, diskGb: 0 },
];
const vim: VimInstance = {
  type: "docker.fog",
  name: "fog",
  metadata: { "iotfog.constraints": "node.labels.site==a" },
};

function request(over: Partial<LaunchRequest> = {}, userdata = ""): LaunchRequest {
  const networks: ConnectionPoint[] = [
    { virtual_link_reference: "mgmt", metadata: { "iotfog.constraints": "node.labels.zone==line-1" } },
    { virtual_link_reference: "data", metadata: {} },
    { virtual_link_reference: "mgmt", metadata: {} },
  ];
  return {
    hostname: "sensor-4711",
    image: "sha256:abc",
    flavor: "",
    keyPair: "",
    networks,
    securityGroups: [],
    fog: parseFogSpec(userdata),
    floatingIps: {},
    keys: [],
    wait: true,
    ...over,
  };
}

function caught(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isIotFogError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected an error");
}

describe("launch translation", () => {
  it("builds the ServiceSpec from the request alone: name, image, hostname label, DNS names per link", () => {
    const { spec, aliases } = translateLaunch(flavors, vim, request(), "sensor:1");
    expect(spec).toMatchObject({
      name: "sensor-4711",
      image: "sensor:1",
      env: {},
      ports: [],
      volumes: [],
      devices: [],
      restart: "unless-stopped",
      hostname: "sensor-4711",
      labels: { "org.openiotfog.openbaton.hostname": "sensor-4711" },
      // No flavour named: the server reports the first one, but the container gets no limits from it.
      resources: {},
    });
    expect(spec.dns).toBeUndefined();
    // One entry per virtual link (mgmt appears twice among the connection points), each with the hostname.
    expect([...aliases]).toEqual([
      ["mgmt", ["sensor-4711"]],
      ["data", ["sensor-4711"]],
    ]);
  });

  it("gathers constraints from the VIM metadata, every connection point's metadata and the fog spec, in that order", () => {
    const userdata = formatFogSpec({ constraints: ["node.labels.dongle==zigbee"] });
    const { spec } = translateLaunch(flavors, vim, request({}, userdata), "sensor:1");
    expect(spec.constraints).toEqual(
      parseConstraints(["node.labels.site==a", "node.labels.zone==line-1", "node.labels.dongle==zigbee"]),
    );
  });

  it("takes resources from the named flavour, the fog spec's winning; a zero flavour sets none", () => {
    expect(translateLaunch(flavors, vim, request({ flavor: "m1.small" }), "x").spec.resources).toEqual({
      cpus: 1,
      memoryBytes: 256 * MIB,
      diskBytes: 1 * GIB,
    });
    const fog = formatFogSpec({ resources: { memory: "64MiB" } });
    expect(translateLaunch(flavors, vim, request({ flavor: "m1.small" }, fog), "x").spec.resources).toEqual({
      cpus: 1,
      memoryBytes: 64 * MIB,
      diskBytes: 1 * GIB,
    });
    expect(translateLaunch(flavors, vim, request({ flavor: "m1.tiny" }), "x").spec.resources).toEqual({});
  });

  it("carries the fog spec's container fields: command, env, ports, restart, labels, hostname, dns", () => {
    const userdata = formatFogSpec(
      {
        command: ["sh", "-c", "sleep 1000"],
        env: { MODE: "edge" },
        ports: [{ container: 80, host: 8080, protocol: "tcp" }],
        restart: "on-failure",
        labels: { team: "line" },
        hostname: "probe",
        dns: ["10.0.0.2"],
      },
      "base64url",
    );
    const { spec } = translateLaunch(flavors, vim, request({}, userdata), "x");
    expect(spec).toMatchObject({
      command: ["sh", "-c", "sleep 1000"],
      env: { MODE: "edge" },
      ports: [{ container: 80, host: 8080, protocol: "tcp" }],
      restart: "on-failure",
      labels: { team: "line", "org.openiotfog.openbaton.hostname": "sensor-4711" },
      hostname: "probe",
      dns: ["10.0.0.2"],
    });
  });

  it("adds the fog spec's aliases to their link, and refuses an alias on a link the VNFC is not on", () => {
    const good = formatFogSpec({ aliases: { data: ["broker", "sensor-4711"] } });
    expect(translateLaunch(flavors, vim, request({}, good), "x").aliases.get("data")).toEqual([
      "sensor-4711",
      "broker",
    ]);
    const bad = formatFogSpec({ aliases: { other: ["broker"] } });
    const e = caught(() => translateLaunch(flavors, vim, request({}, bad), "x"));
    expect(e.code).toBe("BAD_REQUEST");
    expect(e.message).toContain('field "aliases.other": "other" is not a virtual link of sensor-4711');
    expect(e.message).toContain("(its links: mgmt, data)");
  });

  it("turns an NFVO hostname that is not a host name into a service name for both name and hostname", () => {
    const { spec } = translateLaunch(flavors, vim, request({ hostname: "Sensor_Unit 1" }), "x");
    expect(spec.name).toBe("sensor-unit-1");
    expect(spec.hostname).toBe("sensor-unit-1");
    expect(spec.labels["org.openiotfog.openbaton.hostname"]).toBe("Sensor_Unit 1");
    expect(serviceName("---")).toBe("vnfc");
  });

  it("refuses an unknown flavour naming the ones offered, and bad constraints naming the VNFC", () => {
    const e = caught(() => translateLaunch(flavors, vim, request({ flavor: "m1.huge" }), "x"));
    expect(e).toEqual({
      code: "BAD_REQUEST",
      message: 'unknown flavor "m1.huge"; this driver offers m1.small, m1.tiny',
    });
    const badVim: VimInstance = { ...vim, metadata: { "iotfog.constraints": "node.labels.zone=~(" } };
    expect(caught(() => translateLaunch(flavors, badVim, request(), "x")).message).toContain(
      "constraints of sensor-4711",
    );
  });

  it("offers the configured flavours only: the first for an empty name, echo for add/update, refusal otherwise", () => {
    expect(flavourFor(flavors, "").flavour).toEqual({
      flavour_key: "m1.small",
      extId: "m1.small",
      ram: 256,
      disk: 1,
      vcpus: 1,
    });
    expect(flavourFor([], "").flavour).toEqual({ flavour_key: "", extId: "", ram: 0, disk: 0, vcpus: 0 });
    expect(configuredFlavour(flavors, { flavour_key: "m1.tiny" }, "addFlavor").extId).toBe("m1.tiny");
    expect(caught(() => configuredFlavour(flavors, { extId: "big" }, "updateFlavor"))).toMatchObject({
      code: "UNSUPPORTED",
      message: expect.stringContaining("updateFlavor(big): flavors are resource profiles"),
    });
  });
});
