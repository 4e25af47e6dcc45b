import { checkAdmission, place, filterPlugins } from "@openiotfog/shared";
import { node, spec } from "../fixtures";

const hostRoot = spec({ name: "host-root", volumes: [{ source: "/", target: "/host" }], networks: ["host"] });

describe("placement filter: host policy", () => {
  it("is in the registry", () => {
    expect(filterPlugins.map((f) => f.name)).toContain("host-policy");
  });

  it("asks nothing of a service that needs no widening (named volumes, bridge networks)", () => {
    const plain = spec({ volumes: [{ source: "data", target: "/data" }], networks: ["line2"] });
    const d = place({ spec: plain }, { nodes: [node("pi-01")] }, { explain: "full" });
    expect(d.ok).toBe(true);
    expect(d.explanation.rejectedBy).toEqual({});
  });

  it("chooses only the node whose operator allows the bind mount and the host network", () => {
    const nodes = [
      node("pi-01"),
      node("pi-02", { hostPolicy: { allowBindMounts: ["/"] } }),
      node("pi-03", { hostPolicy: { allowBindMounts: ["/"], allowHostNetwork: true } }),
    ];
    const d = place({ spec: hostRoot }, { nodes });
    expect(d.ok && d.nodeId).toBe("pi-03");
  });

  it("explains a refusal with the field and the rule, like the other filters", () => {
    const nodes = [node("pi-01"), node("pi-02", { hostPolicy: { allowBindMounts: ["/srv"] } })];
    const d = place({ spec: hostRoot }, { nodes }, { explain: "full" });
    if (d.ok) throw new Error("placed a host-root service");
    expect(d.message).toContain(
      'host policy allows spec.volumes[0].source (rule bind-mount): refused by pi-01, pi-02: spec.volumes[0].source: bind mount of host path "/" is refused',
    );
    expect(d.message).toContain(
      "host policy allows spec.networks[0] (rule host-network): refused by pi-01, pi-02",
    );
    const pi02 = d.explanation.nodes.find((n) => n.nodeId === "pi-02");
    expect(pi02?.failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          filter: "host-policy",
          reason: "bind-mount",
          seen: expect.stringContaining("hostPolicy.allowBindMounts (/srv)"),
        }),
      ]),
    );
  });

  it("refuses a namespace-sharing network mode on every node, whatever its policy", () => {
    const open = node("pi-01", { hostPolicy: { allowBindMounts: ["/"], allowHostNetwork: true } });
    const d = place({ spec: spec({ networks: ["container:db"] }) }, { nodes: [open] });
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.message).toContain("(rule network-mode)");
  });

  it("a node that advertises no policy (an older agent) is judged by the least-privilege default", () => {
    const d = checkAdmission(hostRoot, {
      capabilities: node("old").capabilities,
      online: true,
      allocations: [],
    });
    expect(d.ok).toBe(false);
  });
});
