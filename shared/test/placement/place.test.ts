import {
  checkAdmission,
  IotFogError,
  parseConstraints,
  parseSpread,
  place,
  planDeployment,
  type Allocation,
  type NodeState,
  type PlacementDecision,
} from "@openiotfog/shared";
import { GiB, MiB, node, spec, zigbeeDongle } from "../fixtures";

function chosen(d: PlacementDecision): string {
  if (!d.ok) throw new Error(d.message);
  return d.nodeId;
}

describe("resource accounting", () => {
  const wants1G = spec({ resources: { memoryBytes: 1 * GiB } });

  it.each<[string, Array<Partial<Allocation> & { service: string }>, boolean]>([
    ["nothing placed", [], true],
    // reserved replicas have not started: they come off the measured free memory (3GiB - 2.5GiB)
    [
      "a reserved 2.5GiB replica",
      [{ service: "a", state: "reserved", resources: { memoryBytes: 2.5 * GiB } }],
      false,
    ],
    // placed ones are inside the measurement already, but commit their limits against the total (4 - 3.5)
    [
      "placed replicas committing 3.5GiB",
      [{ service: "a", state: "placed", resources: { memoryBytes: 3.5 * GiB } }],
      false,
    ],
    [
      "placed replicas committing 2GiB",
      [{ service: "a", state: "placed", resources: { memoryBytes: 2 * GiB } }],
      true,
    ],
    // the request's own reservation never counts against it
    [
      "its own reservation",
      [{ service: "svc", replica: 0, state: "reserved", resources: { memoryBytes: 2.5 * GiB } }],
      true,
    ],
    [
      "a sibling replica's reservation",
      [{ service: "svc", replica: 1, state: "reserved", resources: { memoryBytes: 2.5 * GiB } }],
      false,
    ],
  ])("memory with %s: feasible=%s", (_name, allocations, feasible) => {
    const n = node("n", { memoryTotal: 4 * GiB, memoryFree: 3 * GiB, allocations });
    expect(place({ spec: wants1G }, { nodes: [n] }).ok).toBe(feasible);
  });

  it("subtracts committed CPU and reserved disk", () => {
    const n = node("n", {
      cores: 2,
      diskFree: 10 * GiB,
      allocations: [
        { service: "a", state: "placed", resources: { cpus: 1.5 } },
        { service: "b", state: "reserved", resources: { diskBytes: 9 * GiB } },
      ],
    });
    const cpuDecision = place({ spec: spec({ resources: { cpus: 1 } }) }, { nodes: [n] });
    expect(!cpuDecision.ok && cpuDecision.message).toBe(
      "no node satisfies: cpu >= 1 core (n has 0.5 cores free)",
    );
    const diskDecision = place({ spec: spec({ resources: { diskBytes: 2 * GiB } }) }, { nodes: [n] });
    expect(!diskDecision.ok && diskDecision.message).toBe(
      "no node satisfies: disk >= 2GiB (n has 1GiB free)",
    );
  });

  it("sees allocations appended in place to a snapshot it has already seen", () => {
    const n = node("n", { memoryFree: 3 * GiB, memoryTotal: 4 * GiB });
    expect(place({ spec: wants1G }, { nodes: [n] }).ok).toBe(true);
    n.allocations.push({
      service: "late",
      state: "reserved",
      resources: { memoryBytes: 2.5 * GiB },
      devices: [],
    });
    expect(place({ spec: wants1G }, { nodes: [n] }).ok).toBe(false);
  });

  it("prefers the node with more room left (least allocated)", () => {
    const nodes = [node("small", { memoryFree: 1 * GiB }), node("roomy", { memoryFree: 3.5 * GiB })];
    expect(chosen(place({ spec: wants1G }, { nodes }))).toBe("roomy");
  });
});

describe("devices", () => {
  const needsZigbee = spec({ name: "z2m", devices: [{ class: "zigbee", containerPath: "/dev/ttyACM0" }] });

  it("hands the matched device to the runtime, by its stable path", () => {
    const d = place(
      { spec: needsZigbee },
      { nodes: [node("a"), node("b", { devices: [zigbeeDongle("zb-9")] })] },
    );
    if (!d.ok) throw new Error(d.message);
    expect(d.nodeId).toBe("b");
    expect(d.devices).toEqual([
      {
        requirement: 0,
        device: zigbeeDongle("zb-9"),
        hostPath: "/dev/serial/by-id/usb-ITead_Sonoff_zb-9-if00-port0",
        containerPath: "/dev/ttyACM0",
        exclusive: true,
      },
    ]);
  });

  it.each<[string, object, boolean]>([
    ["class", { class: "zigbee" }, true],
    ["class, other case", { class: "ZigBee" }, true],
    ["vendor and product", { vendorId: "0x10C4", productId: "EA60" }, true],
    ["vendor only", { vendorId: "10c4" }, true],
    ["wrong product", { vendorId: "10c4", productId: "ea61" }, false],
    ["serial", { serial: "serial-zb-1" }, true],
    ["wrong serial", { serial: "serial-zb-2" }, false],
    ["class and protocol", { class: "zigbee", protocol: "zigbee" }, true],
    ["protocol it lacks", { class: "zigbee", protocol: "thread" }, false],
    ["another class", { class: "camera" }, false],
  ])("matches by %s", (_name, requirement, matches) => {
    const s = spec({ devices: [requirement] });
    expect(place({ spec: s }, { nodes: [node("a", { devices: [zigbeeDongle("zb-1")] })] }).ok).toBe(matches);
  });

  it.each<[string, Allocation["devices"][number] | undefined, string | undefined, boolean, boolean]>([
    // [case, lease held by service "other", inUseBy, request exclusive, feasible]
    ["free device, exclusive request", undefined, undefined, true, true],
    ["exclusively leased", { id: "zb-1", exclusive: true }, undefined, true, false],
    ["exclusively leased, shared request", { id: "zb-1", exclusive: true }, undefined, false, false],
    ["shared lease, shared request", { id: "zb-1", exclusive: false }, undefined, false, true],
    ["shared lease, exclusive request", { id: "zb-1", exclusive: false }, undefined, true, false],
    ["in use outside our leases", undefined, "vision", true, false],
    ["in use outside our leases, shared request", undefined, "vision", false, false],
    ["in use by a sharer, shared request", { id: "zb-1", exclusive: false }, "other", false, true],
    ["in use by the requesting service itself", undefined, "svc", true, true],
  ])("%s", (_name, lease, inUseBy, exclusive, feasible) => {
    const dongle = zigbeeDongle("zb-1", inUseBy === undefined ? {} : { inUseBy });
    const n = node("a", {
      devices: [dongle],
      allocations: lease === undefined ? [] : [{ service: "other", state: "placed", devices: [lease] }],
    });
    expect(place({ spec: spec({ devices: [{ class: "zigbee", exclusive }] }) }, { nodes: [n] }).ok).toBe(
      feasible,
    );
  });

  it("gives each requirement its own device, backtracking when a greedy pick would fail", () => {
    const usbSerial = {
      id: "s-a",
      class: "serial",
      vendorId: "0403",
      productId: "6001",
      path: "/dev/ttyUSB0",
    };
    const plainSerial = { id: "s-b", class: "serial", path: "/dev/ttyS0" };
    const n = node("a", { devices: [usbSerial, plainSerial] });
    // The first requirement matches both; greedy by id would give it s-a and starve the second.
    const s = spec({ devices: [{ class: "serial" }, { vendorId: "0403" }] });
    const d = place({ spec: s }, { nodes: [n] });
    if (!d.ok) throw new Error(d.message);
    expect(d.devices.map((a) => [a.requirement, a.device.id])).toEqual([
      [0, "s-b"],
      [1, "s-a"],
    ]);
    const tooMany = place(
      { spec: spec({ devices: [{ class: "serial" }, { class: "serial" }, { class: "serial" }] }) },
      { nodes: [n] },
    );
    expect(!tooMany.ok && tooMany.message).toBe(
      "no node satisfies: 3 devices at once (serial, serial, serial) (a has not enough distinct free devices)",
    );
  });

  it("planning a second gateway finds the first one's dongle leased", () => {
    const nodes = [node("a", { devices: [zigbeeDongle("zb-1")] }), node("b")];
    const plan = planDeployment(
      [spec({ name: "z2m", replicas: 2, devices: [{ class: "zigbee" }] })],
      { nodes },
      { deploymentId: "d1" },
    );
    expect(plan.ok).toBe(false);
    expect(plan.problems).toEqual([
      "z2m replica 1: no node satisfies: device zigbee (0 of 2 nodes have a free one; a has one but it is in use by z2m (d1); b has none)",
    ]);
  });
});

describe("replica placement rules", () => {
  const three = [node("a"), node("b"), node("c")];
  const running = (nodeId: string, service: string, replica: number): NodeState => {
    const base = three.find((n) => n.capabilities.nodeId === nodeId)!;
    return { ...base, allocations: [{ service, replica, state: "placed", resources: {}, devices: [] }] };
  };

  it.each<[string, object]>([
    ["maxPerNode", { maxPerNode: 1 }],
    ["distinct_hosts", { constraints: parseConstraints(["distinct_hosts"]) }],
    ["max_per_node constraint", { constraints: parseConstraints(["max_per_node 1"]) }],
  ])("%s keeps a second replica off a node that has one", (_name, extra) => {
    const s = spec({ replicas: 2, ...extra });
    const nodes = [running("a", "svc", 0)];
    const d = place({ spec: s, replica: 1 }, { nodes });
    expect(!d.ok && d.message).toBe("no node satisfies: at most 1 replica of svc per node (a has 1 already)");
    expect(place({ spec: s, replica: 0 }, { nodes }).ok).toBe(true);
  });

  it("distinct_property counts replicas per attribute value across the fleet", () => {
    const cell = (id: string, c: string, allocations: NodeState["allocations"] = []): NodeState => ({
      ...node(id, { labels: { cell: c } }),
      allocations,
    });
    const s = spec({ replicas: 3, constraints: parseConstraints(["distinct_property node.labels.cell"]) });
    const nodes = [
      cell("a1", "c1", [{ service: "svc", replica: 0, state: "placed", resources: {}, devices: [] }]),
      cell("a2", "c1"),
      cell("b1", "c2"),
      node("nolabel"),
    ];
    expect(chosen(place({ spec: s, replica: 1 }, { nodes }))).toBe("b1");
    const full = place({ spec: s, replica: 1 }, { nodes }, { explain: "full" });
    const failures = Object.fromEntries(
      full.explanation.nodes.map((n) => [n.nodeId, n.failures.map((f) => f.seen)]),
    );
    expect(failures).toEqual({
      b1: [],
      a1: ["c1 with 1 already"],
      a2: ["c1 with 1 already"],
      nolabel: ["no node.labels.cell"],
    });
  });

  it("spread places replicas evenly over a label", () => {
    const nodes = ["c1", "c1", "c1", "c2", "c3"].map((c, i) => node(`n${i}`, { labels: { cell: c } }));
    const plan = planDeployment([spec({ replicas: 3, spread: parseSpread(["node.labels.cell"]) })], {
      nodes,
    });
    const cells = plan.replicas.map(
      (r) => nodes.find((n) => n.capabilities.nodeId === chosen(r.decision))!.capabilities.labels.cell,
    );
    expect([...cells].sort()).toEqual(["c1", "c2", "c3"]);
  });

  it("spread targets steer the share per value", () => {
    const nodes = ["a", "a", "a", "a", "b", "b", "b", "b"].map((z, i) =>
      node(`n${i}`, { labels: { zone: z } }),
    );
    const s = spec({
      replicas: 4,
      spread: parseSpread([{ attribute: "node.labels.zone", targets: { a: 75, b: 25 } }]),
    });
    const plan = planDeployment([s], { nodes });
    const zones = plan.replicas.map(
      (r) => nodes.find((n) => n.capabilities.nodeId === chosen(r.decision))!.capabilities.labels.zone,
    );
    expect(zones.filter((z) => z === "a")).toHaveLength(3);
  });

  it("spreads replicas over nodes by default (anti-affinity)", () => {
    const plan = planDeployment([spec({ replicas: 3 })], { nodes: three });
    expect(new Set(plan.replicas.map((r) => chosen(r.decision))).size).toBe(3);
  });
});

describe("preferences and tie-break", () => {
  it("a negative preference steers away without forbidding", () => {
    const nodes = [node("mgr", { role: "manager" }), node("w1")];
    const s = spec({
      preferences: [{ weight: -80, term: { attribute: "node.role", operator: "equal", value: "manager" } }],
    });
    expect(chosen(place({ spec: s }, { nodes }))).toBe("w1");
    expect(chosen(place({ spec: s }, { nodes: [nodes[0]!] }))).toBe("mgr");
  });

  it("heavier preferences win", () => {
    const nodes = [node("fast", { mhz: 2400 }), node("near", { labels: { line: "l1" } })];
    const s = spec({
      preferences: [
        {
          weight: 20,
          term: { attribute: "node.resources.cpu.mhz", operator: "greater_or_equal", value: "2GHz" },
        },
        { weight: 90, term: { attribute: "node.labels.line", operator: "equal", value: "l1" } },
      ],
    });
    expect(chosen(place({ spec: s }, { nodes }))).toBe("near");
  });

  it("is reproducible: same request, same node, whatever the node order", () => {
    const nodes = Array.from({ length: 20 }, (_, i) => node(`same-${i}`));
    const s = spec({ name: "web" });
    const first = chosen(place({ spec: s, deploymentId: "d7", replica: 3 }, { nodes }));
    for (let k = 0; k < 5; k++) {
      expect(
        chosen(place({ spec: s, deploymentId: "d7", replica: 3 }, { nodes: [...nodes].reverse() })),
      ).toBe(first);
    }
    expect(chosen(place({ spec: s, seed: "fixed" }, { nodes }))).toBe(
      chosen(place({ spec: s, seed: "fixed" }, { nodes: [...nodes].reverse() })),
    );
  });

  it("different requests spread over equally good nodes", () => {
    const nodes = Array.from({ length: 10 }, (_, i) => node(`same-${i}`));
    const picks = new Set(
      Array.from({ length: 40 }, (_, r) => chosen(place({ spec: spec(), replica: r }, { nodes }))),
    );
    expect(picks.size).toBeGreaterThan(3);
  });

  it("scorer weights can be overridden or switched off", () => {
    const nodes = [
      node("small", { memoryFree: 1 * GiB }),
      node("roomy", { memoryFree: 3.5 * GiB, labels: { x: "1" } }),
    ];
    const d = place({ spec: spec() }, { nodes }, { scorerWeights: { resources: 0 } });
    if (!d.ok) throw new Error(d.message);
    expect(d.scores).toEqual([]);
  });

  it("respects excludeNodes", () => {
    const d = place({ spec: spec(), excludeNodes: ["a"] }, { nodes: [node("a")] });
    expect(!d.ok && d.message).toBe("no node satisfies: node not excluded (a excluded by the request)");
  });
});

describe("admission and untrusted specs", () => {
  it("an agent admits what fits and refuses with its own name in the sentence", () => {
    const self = node("pi-05", { memoryFree: 512 * MiB, online: false });
    expect(checkAdmission(spec({ resources: { memoryBytes: 256 * MiB } }), self).ok).toBe(true);
    const refused = checkAdmission(spec({ name: "big", resources: { memoryBytes: 1 * GiB } }), self);
    expect(!refused.ok && refused.message).toBe(
      "pi-05 cannot run big: memory >= 1GiB (pi-05 has 512MiB free)",
    );
  });

  it("an agent's own reservation (made by the driver) does not block its admission", () => {
    const self = node("pi-05", {
      memoryFree: 1 * GiB,
      allocations: [
        {
          service: "svc",
          deploymentId: "d1",
          replica: 2,
          state: "reserved",
          resources: { memoryBytes: 800 * MiB },
        },
      ],
    });
    const s = spec({ resources: { memoryBytes: 800 * MiB } });
    expect(checkAdmission(s, self, { deploymentId: "d1", replica: 2 }).ok).toBe(true);
    expect(checkAdmission(s, self, { deploymentId: "d1", replica: 3 }).ok).toBe(false);
  });

  it.each<[string, object, string]>([
    [
      "unknown operator",
      { constraints: { requirements: [{ attribute: "node.labels.a", operator: "likes", value: "x" }] } },
      'service svc: field "constraints.requirements[0]": unknown operator "likes"',
    ],
    [
      "unknown attribute",
      {
        constraints: {
          requirements: [{ anyOf: [[{ attribute: "node.nope", operator: "equal", value: "x" }]] }],
        },
      },
      'service svc: field "constraints.requirements[0]": unknown attribute "node.nope"',
    ],
    [
      "bad preference",
      {
        preferences: [
          { weight: 5, term: { attribute: "node.labels.a", operator: "greater_than", value: "3XB" } },
        ],
      },
      'service svc: field "preferences[0].term": "3XB" has an unknown unit',
    ],
    [
      "bad spread",
      { spread: [{ attribute: "nodes.labels.a" }] },
      'service svc: field "spread[0].attribute": unknown attribute "nodes.labels.a"',
    ],
    [
      "bad distinct_property",
      { constraints: { distinctProperties: [{ attribute: "node.bad" }] } },
      'service svc: field "constraints.distinctProperties[0].attribute": unknown attribute "node.bad"',
    ],
  ])("a spec off the wire with a %s is refused whole with VALIDATION_FAILED", (_name, extra, message) => {
    let error: unknown;
    try {
      place({ spec: spec(extra) }, { nodes: [node("a"), node("b")] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IotFogError);
    expect((error as IotFogError).code).toBe("VALIDATION_FAILED");
    expect((error as IotFogError).message).toContain(message);
  });
});
