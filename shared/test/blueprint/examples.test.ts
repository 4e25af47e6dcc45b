import { join } from "node:path";
import { loadBlueprintFile, place, planDeployment, whatIf } from "@openiotfog/shared";
import { GiB, node, zigbeeDongle } from "../fixtures";

const examples = join(__dirname, "../../../examples");

describe("example blueprints", () => {
  it.each(["hello.yaml", "zigbee-gateway.yaml", "line-spread.yaml"])(
    "%s parses into valid ServiceSpecs",
    async (file) => {
      const blueprint = await loadBlueprintFile(join(examples, file));
      expect(blueprint.services.length).toBeGreaterThan(0);
      for (const s of blueprint.services) expect(s.image).not.toBe("");
    },
  );

  it("hello runs httpd on the test image and any node can take it", async () => {
    const bp = await loadBlueprintFile(join(examples, "hello.yaml"));
    const [hello] = bp.services;
    expect(hello).toMatchObject({
      name: "hello",
      image: "openiotfog/testbox:latest",
      command: ["httpd", "-f", "-p", "8080"],
      ports: [{ container: 8080, host: 8080, protocol: "tcp" }],
    });
    const decision = place(
      { spec: hello! },
      { nodes: [node("any", { platform: { arch: "arm", os: "linux" } })] },
    );
    expect(decision.ok).toBe(true);
  });

  it("zigbee-gateway binds zigbee2mqtt to the dongle and orders mosquitto first", async () => {
    const bp = await loadBlueprintFile(join(examples, "zigbee-gateway.yaml"));
    expect(bp.services.map((s) => s.name)).toEqual(["mosquitto", "zigbee2mqtt"]);
    const labels = { zone: "shop-floor" };
    const software = [{ name: "docker", version: "24.0.7" }];
    // zigbee2mqtt keeps its data in a host directory: the shop-floor nodes' operators allow that bind mount.
    const hostPolicy = { allowBindMounts: ["/srv/zigbee2mqtt"] };
    const nodes = [
      node("pi-01", { labels, software, hostPolicy }),
      node("pi-02", {
        labels,
        software,
        hostPolicy,
        devices: [zigbeeDongle("zb-1", { vendorId: "0x10C4" })],
      }),
    ];
    const plan = planDeployment(bp.services, { nodes });
    expect(plan.problems).toEqual([]);
    const z2m = plan.replicas.find((r) => r.service === "zigbee2mqtt")!.decision;
    expect(z2m.ok && z2m.nodeId).toBe("pi-02");
    expect(z2m.ok && z2m.devices[0]).toMatchObject({
      hostPath: "/dev/serial/by-id/usb-ITead_Sonoff_zb-1-if00-port0",
      containerPath: "/dev/ttyACM0",
      exclusive: true,
    });
    // Losing the dongle's node leaves nowhere to put the gateway; the what-if report says so.
    const report = whatIf(bp.services, { nodes });
    expect(report.baseline.ok).toBe(true);
    expect(report.ok).toBe(false);
    expect(
      report.problems.some((p) =>
        p.startsWith("lose node pi-02: zigbee2mqtt replica 0: no node satisfies: device zigbee"),
      ),
    ).toBe(true);
  });

  it("line-spread puts one collector per cell of line 1", async () => {
    const bp = await loadBlueprintFile(join(examples, "line-spread.yaml"));
    const nodes = ["c1", "c1", "c2", "c2", "c3", "c4", "c4"].map((cell, i) =>
      node(`n${i}`, {
        labels: { line: "line-1", cell },
        protocols: ["opcua"],
        mhz: 1200 + i * 100,
        memoryFree: 2 * GiB,
      }),
    );
    nodes.push(node("other-line", { labels: { line: "line-2", cell: "c9" }, protocols: ["opcua"] }));
    const plan = planDeployment(bp.services, { nodes });
    expect(plan.problems).toEqual([]);
    const cells = plan.replicas.map((r) => {
      if (!r.decision.ok) throw new Error(r.decision.message);
      return nodes.find((n) => n.capabilities.nodeId === (r.decision.ok ? r.decision.nodeId : ""))!
        .capabilities.labels.cell;
    });
    expect([...cells].sort()).toEqual(["c1", "c2", "c3", "c4"]);
  });
});
