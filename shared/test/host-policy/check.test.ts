import {
  IotFogError,
  deployParamsSchema,
  parseBlueprint,
  deployViolations,
  hostPolicySchema,
  networkDriverViolations,
  parseWith,
  policyRefusal,
  specViolations,
  type HostFacts,
  type HostPolicyInput,
  type HostPolicyRule,
  type PolicyRequest,
  type ServiceSpecInput,
} from "@openiotfog/shared";
import { spec, zigbeeDongle } from "../fixtures";

const policy = (input: HostPolicyInput = {}) => hostPolicySchema.parse(input);

const facts = (o: Partial<HostFacts> = {}): HostFacts => ({
  networks: [
    { id: "a".repeat(64), name: "bridge", driver: "bridge", managed: false },
    { id: "b".repeat(64), name: "host", driver: "host", managed: false },
    { id: "c".repeat(64), name: "none", driver: "null", managed: false },
    { id: "d".repeat(64), name: "plant-lan", driver: "macvlan", managed: false },
    { id: "e".repeat(64), name: "iotfog-line2", driver: "bridge", managed: true },
  ],
  discoveredDevicePaths: new Set(["/dev/ttyUSB0", "/dev/serial/by-id/usb-stick"]),
  heldDevices: [],
  ...o,
});

const stick = zigbeeDongle("zb-1");
const assignment = (
  hostPath: string,
  o: { requirement?: number; exclusive?: boolean; id?: string } = {},
) => ({
  requirement: o.requirement ?? 0,
  device: { ...stick, id: o.id ?? stick.id },
  hostPath,
  containerPath: "/dev/ttyACM0",
  exclusive: o.exclusive ?? true,
});

function request(s: Partial<ServiceSpecInput>, extra: Omit<PolicyRequest, "spec"> = {}): PolicyRequest {
  return { spec: spec(s), ...extra };
}

const rules = (r: PolicyRequest, p = policy(), f = facts()): Array<[string, HostPolicyRule]> =>
  deployViolations(r, p, f).map((v) => [v.field, v.rule]);

/** Each rule: a request the least-privilege policy refuses (field + rule), and the widening that allows it. */
const cases: Array<{
  name: string;
  request: PolicyRequest;
  refused: Array<[string, HostPolicyRule]>;
  widened: HostPolicyInput | undefined;
}> = [
  {
    name: "bind mount of the host root",
    request: request({ volumes: [{ source: "/", target: "/host" }] }),
    refused: [["spec.volumes[0].source", "bind-mount"]],
    widened: { allowBindMounts: ["/"] },
  },
  {
    name: "bind mount outside the allowed directory",
    request: request({ volumes: [{ source: "/var/lib/line2/data/", target: "/data" }] }),
    refused: [["spec.volumes[0].source", "bind-mount"]],
    widened: { allowBindMounts: ["/var/lib/line2"] },
  },
  {
    name: "a '..' escape from an allowed directory",
    request: request({ volumes: [{ source: "/var/lib/line2/../../../etc", target: "/etc2" }] }),
    refused: [["spec.volumes[0].source", "bind-mount"]],
    widened: { allowBindMounts: ["/etc"] },
  },
  {
    name: "a sibling whose name starts like the allowed directory",
    request: request({ volumes: [{ source: "/var/lib/line2x", target: "/data" }] }),
    refused: [["spec.volumes[0].source", "bind-mount"]],
    widened: { allowBindMounts: ["/var/lib/line2x/"] },
  },
  {
    name: "the host network",
    request: request({ networks: ["host"] }),
    refused: [["spec.networks[0]", "host-network"]],
    widened: { allowHostNetwork: true },
  },
  {
    name: "the host network by its id prefix",
    request: request({}, { networks: [{ name: "bbbbbb" }] }),
    refused: [["networks[0].name", "host-network"]],
    widened: { allowHostNetwork: true },
  },
  {
    name: "a network the agent did not create",
    request: request({ networks: ["plant-lan"] }),
    refused: [["spec.networks[0]", "undeclared-network"]],
    widened: { allowNetworks: ["plant-lan"] },
  },
  {
    name: "a device path discovery did not find",
    request: request({ devices: [{ class: "zigbee" }] }, { devices: [assignment("/dev/sda")] }),
    refused: [["devices[0].hostPath", "undiscovered-device"]],
    widened: { allowDevicePaths: ["/dev/sda"] },
  },
  {
    name: "a device path under an allowed directory",
    request: request({ devices: [{ class: "zigbee" }] }, { devices: [assignment("/run/vendor/zb0")] }),
    refused: [["devices[0].hostPath", "undiscovered-device"]],
    widened: { allowDevicePaths: ["/run/vendor"] },
  },
];

describe("host-safety policy: each rule refused by default, allowed when the operator widens it", () => {
  it.each(cases)("$name", ({ request: r, refused, widened }) => {
    expect(rules(r)).toEqual(refused);
    if (widened !== undefined) expect(rules(r, policy(widened))).toEqual([]);
  });

  it("named volumes, the default bridge, 'none', the agent's own networks and discovered devices need nothing", () => {
    const r = request(
      { volumes: [{ source: "mosquitto-data", target: "/data" }], devices: [{ class: "zigbee" }] },
      {
        networks: [{ name: "iotfog-line2" }, { name: "bridge" }, { name: "none" }, { name: "not-there-yet" }],
        devices: [assignment("/dev/serial/by-id/usb-stick")],
      },
    );
    expect(rules(r)).toEqual([]);
  });
});

describe("host-safety policy: rules no configuration widens", () => {
  it.each([
    ["container:<id>", "container:abc"],
    ["another namespace", "ns:/proc/1/ns/net"],
  ])("network mode %s", (_what, mode) => {
    const wide = policy({ allowHostNetwork: true, allowNetworks: ["plant-lan"], allowBindMounts: ["/"] });
    expect(rules(request({ networks: [mode] }), wide)).toEqual([["spec.networks[0]", "network-mode"]]);
  });

  it.each([
    ["':' in a host path (Docker bind options)", { source: "/srv:/host", target: "/x" }, "source"],
    ["',' in a host path", { source: "/srv,rw", target: "/x" }, "source"],
    ["':' in the target", { source: "data", target: "/x:/y" }, "target"],
    ["a relative path", { source: "./data", target: "/x" }, "source"],
    ["a one-letter non-volume", { source: ".", target: "/x" }, "source"],
  ])("volume syntax: %s", (_what, volume, part) => {
    const wide = policy({ allowBindMounts: ["/"] });
    expect(rules(request({ volumes: [volume] }), wide)).toEqual([
      [`spec.volumes[0].${part}`, "volume-syntax"],
    ]);
  });

  it("two deployments on an exclusive device, whatever the caller says about exclusivity", () => {
    const held = facts({ heldDevices: [{ deviceId: stick.id, deploymentId: "zb-first", exclusive: true }] });
    const wants = (exclusive: boolean) =>
      request(
        { devices: [{ class: "zigbee", exclusive }] },
        { devices: [assignment("/dev/ttyUSB0", { exclusive: false })] },
      );
    const wide = policy({ allowDevicePaths: ["/"] });
    expect(rules(wants(false), wide, held)).toEqual([["devices[0].device", "exclusive-device"]]);
    expect(rules(wants(true), wide, held)).toEqual([["devices[0].device", "exclusive-device"]]);
    // The spec says exclusive: the caller's `exclusive: false` on the assignment does not share the stick.
    const sharedHolder = facts({
      heldDevices: [{ deviceId: stick.id, deploymentId: "zb-shared", exclusive: false }],
    });
    expect(rules(wants(true), wide, sharedHolder)).toEqual([["devices[0].device", "exclusive-device"]]);
    expect(rules(wants(false), wide, sharedHolder)).toEqual([]);
  });

  it("the same exclusive device twice in one deploy, and an assignment for no requirement", () => {
    const r = request(
      { devices: [{ class: "zigbee" }, { class: "zigbee" }] },
      { devices: [assignment("/dev/ttyUSB0"), assignment("/dev/ttyUSB0", { requirement: 1 })] },
    );
    expect(rules(r)).toEqual([["devices[1].device", "exclusive-device"]]);
    const extra = request({}, { devices: [assignment("/dev/ttyUSB0", { requirement: 3 })] });
    expect(rules(extra)).toEqual([["devices[0].requirement", "device-assignment"]]);
  });

  it("a device path with '..' is never matched against the lists", () => {
    const r = request(
      { devices: [{ class: "zigbee" }] },
      { devices: [assignment("/run/vendor/../../dev/sda")] },
    );
    expect(rules(r, policy({ allowDevicePaths: ["/dev"] }))).toEqual([
      ["devices[0].hostPath", "undiscovered-device"],
    ]);
  });
});

describe("network drivers for networks.create", () => {
  it("bridge only by default; the operator lists more", () => {
    expect(networkDriverViolations("bridge", policy())).toEqual([]);
    expect(networkDriverViolations("macvlan", policy()).map((v) => v.rule)).toEqual(["network-driver"]);
    expect(
      networkDriverViolations("macvlan", policy({ allowNetworkDrivers: ["bridge", "macvlan"] })),
    ).toEqual([]);
  });
});

describe("the refusal", () => {
  it("names every field and rule in one POLICY_REFUSED sentence, and lists them in the details", () => {
    const r = request({ volumes: [{ source: "/", target: "/host" }], networks: ["host"] });
    const err = policyRefusal("pi-07", "host-root", specViolations(r, policy()));
    expect(err).toBeInstanceOf(IotFogError);
    expect(err.code).toBe("POLICY_REFUSED");
    expect(err.message).toMatch(/^node pi-07 refuses host-root by its host-safety policy: /);
    expect(err.message).toContain('spec.volumes[0].source: bind mount of host path "/" is refused');
    expect(err.message).toContain("(host-safety rule bind-mount)");
    expect(err.message).toContain("spec.networks[0]: the host network is refused");
    expect(err.message).toContain("(host-safety rule host-network)");
    expect(err.details).toEqual({
      violations: [
        expect.objectContaining({ field: "spec.volumes[0].source", rule: "bind-mount" }),
        expect.objectContaining({ field: "spec.networks[0]", rule: "host-network" }),
      ],
    });
  });

  it("a '..' source is shown with what it resolves to", () => {
    const [v] = specViolations(request({ volumes: [{ source: "/srv/../etc/", target: "/e" }] }), policy());
    expect(v?.message).toContain('"/srv/../etc/" (that is "/etc")');
  });
});

describe("the policy's configuration", () => {
  it("is least privilege by default", () => {
    expect(policy()).toEqual({
      allowBindMounts: [],
      allowDevicePaths: [],
      allowHostNetwork: false,
      allowNetworks: [],
      allowNetworkDrivers: ["bridge"],
    });
  });

  it("normalises allowed paths and names every bad field", () => {
    expect(policy({ allowBindMounts: ["/var/lib/line2/", "/srv/a/../b"] }).allowBindMounts).toEqual([
      "/var/lib/line2",
      "/srv/b",
    ]);
    expect(() =>
      parseWith(
        hostPolicySchema,
        {
          allowBindMounts: ["relative"],
          allowDevicePaths: ["/dev:x"],
          allowHostNetwork: "yes",
          privileged: true,
        },
        "hostPolicy",
      ),
    ).toThrow(
      /allowBindMounts\[0\]": must be an absolute host path.*allowDevicePaths\[0\]": must not contain ':'.*allowHostNetwork.*Unrecognized key\(s\) in object: 'privileged'/,
    );
  });
});

describe("fields that would grant privileges do not exist", () => {
  // The ServiceSpec has no privileged, cap_add, security_opt, pid / ipc modes, sysctls, userns, cgroup parent,
  // or raw host config: the strict schema refuses each at every boundary, naming the key.
  it.each([
    "privileged",
    "capAdd",
    "cap_add",
    "securityOpt",
    "pid",
    "ipc",
    "sysctls",
    "userns",
    "cgroupParent",
    "hostConfig",
  ])("spec.%s is refused", (key) => {
    const params = {
      deploymentId: "d1",
      spec: { name: "svc", image: "openiotfog/testbox:latest", [key]: key === "privileged" ? true : "host" },
    };
    expect(() => parseWith(deployParamsSchema, params, "deploy params", "BAD_REQUEST")).toThrow(
      new RegExp(
        `field "spec": Unrecognized key\\(s\\) in object: '${key}' \\(no field may grant a container host privileges: host-safety policy`,
      ),
    );
  });
});

describe("privilege fields in a blueprint", () => {
  it("are refused with the line, the field and the reason", () => {
    const blueprint = [
      "tosca_definitions_version: openiotfog_blueprint_1_0",
      "metadata: { name: x }",
      "topology_template:",
      "  node_templates:",
      "    a:",
      "      type: openiotfog.nodes.Container",
      "      properties:",
      "        image: openiotfog/testbox:latest",
      "        privileged: true",
    ].join("\n");
    expect(() => parseBlueprint(blueprint)).toThrow(
      /blueprint:\d+: field "topology_template\.node_templates\.a\.properties": Unrecognized key\(s\) in object: 'privileged' \(no field may grant a container host privileges/,
    );
  });
});
