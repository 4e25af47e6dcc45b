import { IotFogError, parseConstraints } from "@openiotfog/shared";
import { amendFogSpec, parseFogSpec } from "../src/openbaton/fog-spec";
import { dependencyEnv } from "../src/vnfm/dependencies";
import { instantiateMessageSchema, vnfRecordDependencySchema } from "../src/vnfm/messages";
import { buildVnfr } from "../src/vnfm/records";
import {
  DOCKER_VNFM_KEYS,
  parseDevices,
  parsePublish,
  parseVolume,
  translateVnf,
  type FogSpec,
} from "../src/vnfm/translate";
import { encodeUserdata } from "../src/vnfm/userdata";

function one(configuration: Array<[string, string]>, metadata: Record<string, string> = {}): FogSpec {
  const specs = translateVnf({
    vnfdName: "svc",
    configuration,
    vdus: [{ label: "vdu1", metadata, virtualLinks: ["mgmt", "data", "net"] }],
  });
  const spec = specs.get("vdu1");
  if (spec === undefined) throw new Error("no spec for vdu1");
  return spec;
}

function failure(fn: () => unknown): IotFogError {
  try {
    fn();
  } catch (e) {
    if (e instanceof IotFogError) return e;
    throw e;
  }
  throw new Error("expected a failure");
}

describe("VNFD configuration → fog spec (Docker VNFM keys)", () => {
  it("reads cmd, publish, expose, volumes, restart and turns other keys into environment variables", () => {
    const spec = one([
      ["cmd", "iperf -s  -p 5001"],
      ["publish", "5001;8080:80/udp"],
      ["expose", "9000"],
      ["volumes", "/srv/data:/data:ro;/tmp:/scratch"],
      ["restart_policy_condition", "on-failure"],
      ["TIME", "150"],
      ["server_mgmt", "10.0.0.1"],
    ]);
    expect(spec.command).toEqual(["iperf", "-s", "-p", "5001"]);
    expect(spec.ports).toEqual([
      { container: 5001, host: 5001, protocol: "tcp" },
      { container: 80, host: 8080, protocol: "udp" },
      { container: 9000, protocol: "tcp" },
    ]);
    expect(spec.volumes).toEqual([
      { source: "/srv/data", target: "/data", readOnly: true },
      { source: "/tmp", target: "/scratch", readOnly: false },
    ]);
    expect(spec.restart).toBe("on-failure");
    expect(spec.env).toEqual({ TIME: "150", server_mgmt: "10.0.0.1" });
  });

  it("maps Swarm restart conditions onto Docker restart policies", () => {
    expect(one([["restart_policy_condition", "any"]]).restart).toBe("always");
    expect(one([["restart_policy_condition", "none"]]).restart).toBe("no");
  });

  it("accepts a JSON command and keys in any case", () => {
    expect(one([["COMMAND", '["sh", "-c", "echo a b"]']]).command).toEqual(["sh", "-c", "echo a b"]);
  });

  it("takes Swarm constraints separated by ';' and checks them with the constraint parser", () => {
    const spec = one([["constraints", "node.labels.line==2;node.platform.arch==x86_64"]]);
    expect(spec.constraints).toEqual(["node.labels.line==2", "node.platform.arch==x86_64"]);
    expect(parseConstraints(spec.constraints).requirements).toHaveLength(2);
  });

  it("reads dns, hostname and aliases into the spec (repeated keys add up)", () => {
    const spec = one([
      ["dns", "10.0.0.53, 10.0.0.54"],
      ["DNS", "fd00::53"],
      ["hostname", "my-host"],
      ["aliases", "mgmt:a,b;data:c"],
      ["aliases", "mgmt:b,d"],
    ]);
    expect(spec.dns).toEqual(["10.0.0.53", "10.0.0.54", "fd00::53"]);
    expect(spec.hostname).toBe("my-host");
    expect(spec.aliases).toEqual({ mgmt: ["a", "b", "d"], data: ["c"] });
    expect(spec.env).toEqual({});
  });

  it("refuses aliases on a network the VDU is not attached to, naming the VDU's links", () => {
    const e = failure(() =>
      translateVnf({
        vnfdName: "svc",
        configuration: [["aliases", "mgmt:a;wifi:b"]],
        vdus: [{ label: "vdu1", metadata: {}, virtualLinks: ["mgmt"] }],
      }),
    );
    expect(e.code).toBe("VALIDATION_FAILED");
    expect(e.message).toBe(
      'VNFD "svc" key "aliases": network "wifi" is not a virtual link of VDU "vdu1" (its links: mgmt)',
    );
  });

  it("never turns a Docker VNFM key into an environment variable", () => {
    const values: Record<string, string> = {
      cmd: "sleep 1",
      command: "sleep 1",
      publish: "80",
      expose: "81",
      aliases: "net:a",
      volumes: "/a:/b",
      dns: "10.0.0.2",
      hostname: "h",
      restart_policy_condition: "any",
      constraints: "node.labels.line==2",
    };
    for (const key of DOCKER_VNFM_KEYS) {
      expect(one([[key.toUpperCase(), values[key] ?? ""]]).env).toEqual({});
    }
  });

  it("matches keys exactly, unlike go-docker-vnfm's substring match: MY_DNS_NAME stays an environment variable", () => {
    expect(one([["MY_DNS_NAME", "x"]]).env).toEqual({ MY_DNS_NAME: "x" });
  });
});

describe("fog keys", () => {
  it("reads devices (compact and JSON), resources, the full constraint language, labels, maxPerNode", () => {
    const spec = one([
      ["fog.devices", "zigbee;class=usb,vendorId=10c4,productId=ea60"],
      ["fog.cpus", "0.5"],
      ["fog.memory", "256MiB"],
      ["fog.disk", "1GB"],
      [
        "fog.constraints",
        '["node.resources.memory.free >= 128MiB", {"attribute": "node.protocols", "operator": "contains", "value": "zigbee"}]',
      ],
      ["fog.labels", "team=line2,app=sensor"],
      ["fog.maxPerNode", "1"],
      ["fog.restart", "always"],
    ]);
    expect(spec.devices).toEqual([
      { class: "zigbee", exclusive: true },
      { class: "usb", vendorId: "10c4", productId: "ea60", exclusive: true },
    ]);
    expect(spec.resources).toEqual({ cpus: 0.5, memoryBytes: 256 * 1024 * 1024, diskBytes: 1e9 });
    expect(spec.constraints).toHaveLength(3);
    expect(spec.constraints[2]).toBe("max_per_node 1");
    expect(spec.labels).toEqual({ team: "line2", app: "sensor" });
    expect(spec.restart).toBe("always");
    expect(parseConstraints(spec.constraints).maxPerNode).toBe(1);
  });

  it("lets VDU metadata add constraints and override single values; other metadata keys are ignored", () => {
    const specs = translateVnf({
      vnfdName: "svc",
      configuration: [
        ["fog.memory", "128MiB"],
        ["constraints", "node.labels.zone==a"],
      ],
      vdus: [
        {
          label: "v1",
          metadata: { "fog.memory": "64MiB", constraints: "node.labels.line==2", az: "zone-1" },
          virtualLinks: [],
        },
        { label: "v2", metadata: {}, virtualLinks: [] },
      ],
    });
    expect(specs.get("v1")?.resources.memoryBytes).toBe(64 * 1024 * 1024);
    expect(specs.get("v1")?.constraints).toEqual(["node.labels.zone==a", "node.labels.line==2"]);
    expect(specs.get("v1")?.env).toEqual({});
    expect(specs.get("v2")?.resources.memoryBytes).toBe(128 * 1024 * 1024);
  });

  it("fails on an unknown fog key, naming it and listing the known ones", () => {
    const e = failure(() => one([["fog.devcies", "zigbee"]]));
    expect(e.code).toBe("VALIDATION_FAILED");
    expect(e.message).toContain('VNFD "svc" configuration key "fog.devcies": unknown fog key');
    expect(e.message).toContain("fog.devices");
  });

  it("names every bad key and value at once", () => {
    const e = failure(() =>
      one([
        ["fog.memory", "12XB"],
        ["publish", "99999"],
        ["volumes", "/a:relative"],
        ["dns", "not-an-ip"],
        ["BAD=NAME", "x"],
      ]),
    );
    expect(e.message).toContain('key "fog.memory"');
    expect(e.message).toContain('key "publish": port 99999 is outside 1-65535');
    expect(e.message).toContain('key "volumes": target "relative" must be an absolute path');
    expect(e.message).toContain('key "dns": "not-an-ip" is not an IP address');
    expect(e.message).toContain('key "BAD=NAME": is not a valid environment variable name');
  });

  it("reports a constraint the language rejects, with the VDU it belongs to", () => {
    const e = failure(() => one([["constraints", "node.colour==red"]]));
    expect(e.message).toContain(
      `VNFD "svc" VDU "vdu1" constraints: field "[0]": unknown attribute "node.colour"`,
    );
  });

  it("rejects a device without any matching field", () => {
    expect(() => parseDevices('[{"exclusive": false}]')).toThrow(/device 1/);
    expect(() => parseDevices("class=usb,vendorId=xyz")).toThrow(/vendorId/);
  });

  it("parses Docker port and volume syntax", () => {
    expect(parsePublish("127.0.0.1:8080:80")).toEqual({ container: 80, host: 8080, protocol: "tcp" });
    expect(() => parsePublish("8080:80/sctp")).toThrow(/tcp or udp/);
    expect(parseVolume("data:/data")).toEqual({ source: "data", target: "/data", readOnly: false });
  });
});

describe("dependency values → environment (go-docker-vnfm naming)", () => {
  it("names VNFC and VNF values <SOURCE TYPE>_<KEY> upper-cased", () => {
    const dep = vnfRecordDependencySchema.parse({
      target: "iperf-client",
      parameters: { server: { parameters: { port: "5001", empty: "" } } },
      vnfcParameters: {
        server: {
          parameters: { "vnfc-b": { parameters: { hostname: "iperf-server-2", "new-network": "10.0.0.3" } } },
        },
      },
      idType: { "iperf-server": "server" },
    });
    expect(dependencyEnv(dep)).toEqual({
      SERVER_HOSTNAME: "iperf-server-2",
      "SERVER_NEW-NETWORK": "10.0.0.3",
      SERVER_PORT: "5001",
    });
  });

  it("with several source VNFCs, the first by id wins the plain name and each gets a numbered one", () => {
    const dep = vnfRecordDependencySchema.parse({
      vnfcParameters: {
        server: {
          parameters: {
            b: { parameters: { hostname: "s-b" } },
            a: { parameters: { hostname: "s-a" } },
          },
        },
      },
    });
    expect(dependencyEnv(dep)).toEqual({
      SERVER_HOSTNAME: "s-a",
      SERVER_HOSTNAME_1: "s-a",
      SERVER_HOSTNAME_2: "s-b",
    });
  });
});

const tutorialInstantiate = {
  action: "INSTANTIATE",
  vnfd: {
    id: "vnfd-client",
    name: "iperf-client",
    type: "client",
    endpoint: "fog",
    vendor: "FOKUS",
    version: "docker",
    deployment_flavour: [{ id: "df1", flavour_key: "m1.small" }],
    vdu: [
      {
        id: "vdu-client",
        vm_image: ["iperfclient:latest"],
        scale_in_out: 3,
        vnfc: [
          {
            id: "c1",
            connection_point: [{ id: "cp1", virtual_link_reference: "new-network", interfaceId: 0 }],
          },
        ],
        metadata: { "fog.memory": "64MiB" },
      },
    ],
    virtual_link: [{ id: "vl1", name: "new-network" }],
    requires: { "iperf-server": { parameters: ["hostname"] } },
    configurations: {
      name: "client-config",
      configurationParameters: [{ id: "p1", confKey: "TIME", value: "5" }],
    },
  },
  vnfdf: { flavour_key: "m1.small" },
  vlrs: [{ name: "new-network", extId: "iotfog-new-network" }],
  extension: { "nsr-id": "nsr-1", brokerIp: "127.0.0.1" },
  vimInstances: { "vdu-client": [{ name: "fog-vim", type: "docker.fog" }] },
  keys: [],
};

describe("VNF record from INSTANTIATE", () => {
  it("follows the NFVO's rules: parent ids, nsr id, requires/provides, new VDU copies without ids", () => {
    const vnfr = buildVnfr(instantiateMessageSchema.parse(tutorialInstantiate));
    expect(vnfr).toMatchObject({
      name: "iperf-client",
      type: "client",
      endpoint: "fog",
      descriptor_reference: "vnfd-client",
      parent_ns_id: "nsr-1",
      deployment_flavour_key: "m1.small",
      status: "NULL",
      vnf_address: [],
      requires: { name: "requires", configurationParameters: [{ confKey: "hostname" }] },
      configurations: { name: "client-config", configurationParameters: [{ confKey: "TIME", value: "5" }] },
      virtual_link: [{ name: "new-network", extId: "iotfog-new-network" }],
    });
    const vdu = (vnfr.vdu as Array<Record<string, unknown>>)[0];
    expect(vdu).toMatchObject({
      parent_vdu: "vdu-client",
      vimInstanceName: ["fog-vim"],
      vm_image: ["iperfclient:latest"],
      vnfc_instance: [],
      vnfc: [{ connection_point: [{ virtual_link_reference: "new-network", interfaceId: 0 }] }],
      metadata: { "fog.memory": "64MiB" },
    });
    expect(vdu).not.toHaveProperty("id");
    expect(JSON.stringify(vnfr)).not.toContain('"id":"cp1"');
  });
});

describe("userdata for the driver (iotfog-spec/v1)", () => {
  const spec = one([
    ["fog.devices", "zigbee"],
    ["constraints", "node.labels.line==2"],
    ["GREETING", "#Hostname=not-a-hostname"],
    ["hostname", "gw-1"],
    ["dns", "10.0.0.53"],
    ["aliases", "mgmt:gw,gateway.line2"],
  ]);

  it("round-trips through the driver's parser and survives the NFVO's #Hostname= replacement", () => {
    const userdata = encodeUserdata({ vnfr: { name: "svc" }, vdus: [{ label: "vdu1", images: [], spec }] });
    // GenericVIM.allocate: userdata.replace("#Hostname=", "Hostname=" + hostname)
    const edited = userdata.split("#Hostname=").join("Hostname=svc-123");
    const parsed = parseFogSpec(edited);
    expect(parsed).toMatchObject({
      constraints: ["node.labels.line==2"],
      devices: [{ class: "zigbee", exclusive: true }],
      env: { GREETING: "#Hostname=not-a-hostname" },
      hostname: "gw-1",
      dns: ["10.0.0.53"],
      aliases: { mgmt: ["gw", "gateway.line2"] },
    });
  });

  it("refuses VDUs that need different specs (one userdata travels for all VNFCs)", () => {
    const other = { ...spec, env: { OTHER: "1" } };
    expect(() =>
      encodeUserdata({
        vnfr: { name: "svc" },
        vdus: [
          { label: "a", images: [], spec },
          { label: "b", images: [], spec: other },
        ],
      }),
    ).toThrow(/VDUs "a", "b" need different fog specs/);
  });

  it("amends a spec with dependency env and a pinning constraint, keeping the rest", () => {
    const amended = amendFogSpec(spec, { SERVER_HOSTNAME: "s-1" }, ["node.id==n2"]);
    expect(amended?.env).toEqual({ GREETING: "#Hostname=not-a-hostname", SERVER_HOSTNAME: "s-1" });
    expect(amended?.constraints).toEqual(["node.labels.line==2", "node.id==n2"]);
    expect(amended?.devices).toHaveLength(1);
    expect(amended).toMatchObject({
      hostname: "gw-1",
      dns: ["10.0.0.53"],
      aliases: { mgmt: ["gw", "gateway.line2"] },
    });
  });
});
