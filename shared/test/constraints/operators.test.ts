import { operatorPlugins, parseConstraints, place, type ConstraintInput } from "@openiotfog/shared";
import { GiB, node, spec, zigbeeDongle } from "../fixtures";

/** A node with a bit of everything constraints can look at. */
const sample = node("pi-07", {
  hostname: "fog-pi-07",
  role: "worker",
  platform: { arch: "arm64", os: "linux", kernel: "6.1.0-rpi7-rpi-v8" },
  agentVersion: "0.2.1",
  cores: 4,
  mhz: 1500,
  memoryTotal: 4 * GiB,
  memoryFree: 3 * GiB,
  diskFree: 20 * GiB,
  devices: [zigbeeDongle("zb-1"), { id: "cam-1", class: "camera", path: "/dev/video0", inUseBy: "vision" }],
  software: [
    { name: "docker", version: "24.0.7" },
    { name: "python", version: "3.11.2" },
    { name: "mosquitto", version: "2.0.18-rc.1" },
  ],
  protocols: ["mqtt", "opcua", "zigbee"],
  labels: {
    zone: "shop-floor",
    line: "line-1",
    cell: "cell-3",
    ram: "2GiB",
    gpu: "",
    tags: "a,b,c",
    rank: "7",
  },
  engineLabels: { storage: "ssd" },
});

function holds(constraint: ConstraintInput): boolean {
  return place({ spec: spec({ constraints: parseConstraints([constraint]) }) }, { nodes: [sample] }).ok;
}

// [constraint, expected]: every operator, true and false, on every attribute kind it applies to.
const table: Array<[ConstraintInput, boolean]> = [
  // equal / not_equal (Swarm), on text, numbers, sizes, versions and sets
  ["node.labels.zone==shop-floor", true],
  ["node.labels.zone==office", false],
  ["node.labels.zone = shop-floor", true],
  ["node.hostname!=fog-pi-08", true],
  ["node.hostname!=fog-pi-07", false],
  ["node.labels.absent!=x", true],
  ["node.labels.absent==x", false],
  ["node.id==pi-07", true],
  ["node.role==worker", true],
  ["node.role==manager", false],
  ["node.platform.arch==arm64", true],
  ["node.platform.arch==aarch64", true],
  ["node.platform.arch==x86_64", false],
  ["node.platform.os==linux", true],
  ["engine.labels.storage==ssd", true],
  ["node.resources.cpu.cores==4", true],
  ["node.resources.memory.total==4GiB", true],
  ["node.resources.memory.total==4GB", false],
  ["node.agent.version==0.2.1", true],
  ["node.software.python==3.11.2", true],
  ["node.protocols==opcua", true],
  ["node.protocols!=modbus-rtu", true],
  // ordering with units
  ["node.resources.memory.free >= 2GiB", true],
  ["node.resources.memory.free >= 3GiB", true],
  ["node.resources.memory.free > 3GiB", false],
  ["node.resources.memory.free < 3.5GB", true],
  ["node.resources.memory.free <= 1GiB", false],
  ["node.resources.disk.free >= 20GiB", true],
  ["node.resources.disk.total > 40GB", false],
  ["node.resources.cpu.mhz >= 1.2GHz", true],
  ["node.resources.cpu.mhz >= 1500", true],
  ["node.resources.cpu.mhz > 1.5GHz", false],
  ["node.resources.cpu.cores > 2", true],
  ["node.resources.cpu.free >= 4", true],
  ["node.labels.ram >= 1GiB", true],
  ["node.labels.ram >= 3GB", false],
  ["node.labels.rank > 10", false],
  ["node.labels.rank < 10", true],
  ["node.labels.cell > cell-2", true],
  ["node.labels.zone > 100MHz", false],
  ["node.software.docker >= 20.10", true],
  ["node.software.docker < 20.10", false],
  ["node.platform.kernel >= 6.1", true],
  // TOSCA clauses in the full form
  [{ "node.resources.memory.free": { greater_or_equal: "2GiB" } }, true],
  [{ "node.resources.memory.free": { greater_than: "3GiB" } }, false],
  [{ "node.resources.memory.free": { less_than: "4GiB" } }, true],
  [{ "node.resources.memory.free": { less_or_equal: "2GiB" } }, false],
  [{ "node.labels.zone": { equal: "shop-floor" } }, true],
  [{ "node.labels.zone": "shop-floor" }, true],
  [{ "node.resources.cpu.cores": { in_range: [2, 4] } }, true],
  [{ "node.resources.cpu.cores": { in_range: [5, 8] } }, false],
  [{ "node.resources.memory.free": { in_range: ["1GiB", "4GiB"] } }, true],
  [{ "node.software.docker": { in_range: ["20.10", "23"] } }, false],
  [{ "node.labels.line": { valid_values: ["line-1", "line-2"] } }, true],
  [{ "node.labels.line": { valid_values: ["line-3"] } }, false],
  [{ "node.platform.arch": { valid_values: ["x86_64", "aarch64"] } }, true],
  [{ "node.resources.cpu.cores": { valid_values: [2, 4] } }, true],
  [{ "node.labels.cell": { length: 6 } }, true],
  [{ "node.labels.cell": { length: 5 } }, false],
  [{ "node.labels.cell": { min_length: 3 } }, true],
  [{ "node.labels.cell": { max_length: 3 } }, false],
  [{ "node.protocols": { length: 3 } }, true],
  [{ "node.hostname": { pattern: "fog-pi-\\d+" } }, true],
  [{ "node.hostname": { pattern: "pi-\\d+" } }, false],
  [{ "node.hostname": [{ min_length: 3 }, { max_length: 20 }] }, true],
  // Nomad operators
  ["node.hostname =~ pi-0[0-9]", true],
  ["node.hostname =~ ^pi", false],
  [{ attribute: "node.hostname", operator: "regexp", value: "07$" }, true],
  ["node.protocols set_contains mqtt,opcua", true],
  ["node.protocols set_contains [mqtt, modbus-rtu]", false],
  ["node.protocols set_contains_any [modbus-rtu, zigbee]", true],
  ["node.protocols set_contains_any modbus-rtu", false],
  ["node.labels.tags set_contains a,c", true],
  ["node.labels.tags set_contains_any x,y", false],
  ["node.software set_contains docker,python", true],
  ["node.devices.classes set_contains zigbee", true],
  ["node.devices.free_classes set_contains camera", false],
  ["node.devices.free_classes set_contains zigbee", true],
  ['node.software.docker version ">= 20.10, < 25"', true],
  ['node.software.docker version ">= 25"', false],
  ["node.software.docker version ~24.0", true],
  ['node.platform.kernel version ">= 6.1"', true],
  ['node.software.mosquitto semver ">= 2.0.0-0"', true],
  ['node.software.mosquitto semver ">= 2.0.18"', false],
  ['node.software.python semver "^3.11"', true],
  ['node.software.missing version ">= 1"', false],
  ["node.labels.gpu is_set", true],
  ["node.labels.fpga is_set", false],
  ["node.labels.fpga is_not_set", true],
  ["node.labels.gpu is_not_set", false],
  ["node.resources.cpu.mhz is_set", true],
  [{ attribute: "node.labels.zone", operator: "is_set" }, true],
  // Nomad interpolations
  [{ attribute: "${meta.zone}", operator: "=", value: "shop-floor" }, true],
  [{ attribute: "${attr.cpu.arch}", operator: "==", value: "arm64" }, true],
  [{ attribute: "${node.unique.name}", operator: "!=", value: "fog-pi-07" }, false],
  // OR groups
  ["node.labels.zone==office || node.labels.line==line-1", true],
  ["node.labels.zone==office || node.labels.line==line-2", false],
  ["node.labels.zone==shop-floor && node.labels.cell==cell-3 || node.labels.zone==office", true],
  [
    { any_of: [["node.labels.zone==office"], ["node.platform.arch==arm64", "node.labels.cell==cell-3"]] },
    true,
  ],
  [
    { any_of: [["node.labels.zone==office"], ["node.platform.arch==arm64", "node.labels.cell==cell-4"]] },
    false,
  ],
];

describe("constraint operators (table-driven)", () => {
  it.each(table)("%j holds: %s", (constraint, expected) => {
    expect(holds(constraint)).toBe(expected);
  });

  it("the table exercises every registered operator", () => {
    const used = new Set(
      table
        .flatMap(([c]) =>
          parseConstraints([c]).requirements.flatMap((r) => ("anyOf" in r ? r.anyOf.flat() : [r])),
        )
        .map((t) => t.operator),
    );
    expect(operatorPlugins.map((p) => p.name).filter((name) => !used.has(name))).toEqual([]);
  });

  it("regular expressions run on a linear-time engine: a catastrophic-backtracking pattern on a long value answers", () => {
    const long = node("long", { hostname: `${"a".repeat(50_000)}!` });
    for (const c of ["node.hostname =~ (a+)+$", { "node.hostname": { pattern: "(a|aa)*(a|b)*c" } }]) {
      expect(place({ spec: spec({ constraints: parseConstraints([c]) }) }, { nodes: [long] }).ok).toBe(false);
    }
    expect(holds("node.hostname =~ (p|pi)+-0[0-9]")).toBe(true);
    expect(holds({ "node.hostname": { pattern: "(?i)FOG-PI-\\d+" } })).toBe(true);
  });

  it("reads accounted free memory, not the raw measurement", () => {
    const busy = node("busy", {
      memoryTotal: 4 * GiB,
      memoryFree: 3 * GiB,
      allocations: [{ service: "other", state: "reserved", resources: { memoryBytes: 2 * GiB } }],
    });
    const c = parseConstraints(["node.resources.memory.free >= 1.5GiB"]);
    expect(place({ spec: spec({ constraints: c }) }, { nodes: [busy] }).ok).toBe(false);
    expect(
      place(
        { spec: spec({ constraints: parseConstraints(["node.resources.memory.free >= 900MiB"]) }) },
        { nodes: [busy] },
      ).ok,
    ).toBe(true);
  });
});
