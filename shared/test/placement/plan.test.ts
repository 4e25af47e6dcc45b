import { applyScenario, nMinusOneScenarios, planDeployment, whatIf } from "@openiotfog/shared";
import { GiB, node, spec, zigbeeDongle } from "../fixtures";

const gateway = spec({ name: "gw", devices: [{ class: "zigbee" }], dependsOn: ["broker"] });
const broker = spec({ name: "broker", resources: { memoryBytes: 1 * GiB } });

describe("planDeployment", () => {
  it("places in dependency order and reserves as it goes", () => {
    const nodes = [
      node("a", { memoryFree: 1.5 * GiB }),
      node("b", { memoryFree: 1.5 * GiB, devices: [zigbeeDongle()] }),
    ];
    const plan = planDeployment([gateway, { ...broker, replicas: 2 }], { nodes });
    expect(plan.replicas.map((r) => `${r.service}/${r.replica}`)).toEqual(["broker/0", "broker/1", "gw/0"]);
    expect(plan.ok).toBe(true);
    // Two 1GiB brokers cannot share a node with 1.5GiB free: the reservation of the first moves the second.
    const brokerNodes = plan.replicas
      .filter((r) => r.service === "broker")
      .map((r) => (r.decision.ok ? r.decision.nodeId : ""));
    expect(new Set(brokerNodes).size).toBe(2);
    const reserved = plan.snapshot.nodes.flatMap((n) =>
      n.allocations.map((a) => `${n.capabilities.nodeId}:${a.service}:${a.state}`),
    );
    expect(reserved.sort()).toEqual(["a:broker:reserved", "b:broker:reserved", "b:gw:reserved"].sort());
    // The input snapshot is untouched.
    expect(nodes.every((n) => n.allocations.length === 0)).toBe(true);
  });

  it("replans a deployment afresh, ignoring its own existing allocations", () => {
    const held = node("a", {
      memoryFree: 1.5 * GiB,
      allocations: [
        { service: "broker", deploymentId: "d1", state: "placed", resources: { memoryBytes: 3.5 * GiB } },
      ],
    });
    expect(planDeployment([broker], { nodes: [held] }, { deploymentId: "d1" }).ok).toBe(true);
    expect(planDeployment([broker], { nodes: [held] }, { deploymentId: "d2" }).ok).toBe(false);
  });
});

describe("what-if dry run", () => {
  const nodes = [
    node("pi-01", { devices: [zigbeeDongle("zb-1")] }),
    node("pi-02", { devices: [zigbeeDongle("zb-2")] }),
    node("pi-03"),
  ];

  it("N-1 by default: every node and device the plan uses", () => {
    const report = whatIf([broker, gateway], { nodes });
    expect(report.baseline.ok).toBe(true);
    const used = nMinusOneScenarios(report.baseline);
    expect(report.scenarios.map((s) => s.name)).toEqual(
      used.map((s) =>
        s.loseNodes
          ? `lose node ${s.loseNodes[0]}`
          : `lose device ${s.loseDevices![0]!.deviceId} on ${s.loseDevices![0]!.nodeId}`,
      ),
    );
    // A second dongle exists, so the gateway survives the loss of any one node or device.
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("says which loss breaks the deployment, and why", () => {
    const report = whatIf([broker, gateway], { nodes }, [
      { loseDevices: [{ deviceId: "zb-1" }, { deviceId: "zb-2" }] },
      { name: "pi-03 down for maintenance", loseNodes: ["pi-03"] },
      { loseNodes: ["pi-01"], loseDevices: [{ nodeId: "pi-02", deviceId: "zb-2" }] },
    ]);
    expect(report.ok).toBe(false);
    expect(report.scenarios.map((s) => [s.name, s.plan.ok])).toEqual([
      ["lose device zb-1, device zb-2", false],
      ["pi-03 down for maintenance", true],
      ["lose node pi-01, device zb-2 on pi-02", false],
    ]);
    expect(report.problems).toEqual([
      "lose device zb-1, device zb-2: gw replica 0: no node satisfies: device zigbee (0 of 3 nodes have a free one; pi-01, pi-02, pi-03 have none)",
      "lose node pi-01, device zb-2 on pi-02: gw replica 0: no node satisfies: device zigbee (0 of 2 nodes have a free one; pi-02, pi-03 have none)",
    ]);
  });

  it("applyScenario copies, never mutates", () => {
    const before = JSON.stringify(nodes);
    const after = applyScenario({ nodes }, { loseNodes: ["pi-03"], loseDevices: [{ deviceId: "zb-1" }] });
    expect(after.nodes.map((n) => [n.capabilities.nodeId, n.capabilities.devices.map((d) => d.id)])).toEqual([
      ["pi-01", []],
      ["pi-02", ["zb-2"]],
    ]);
    expect(JSON.stringify(nodes)).toBe(before);
  });
});
