import { place } from "@openiotfog/shared";
import { GiB, node, spec, zigbeeDongle } from "../fixtures";

describe("operator sentence", () => {
  it("names every failing predicate with the nodes and values it saw", () => {
    const nodes = [
      node("pi-01", { memoryFree: Math.round(1.8 * GiB) }),
      node("pi-02", { devices: [zigbeeDongle("zb-2", { inUseBy: "svc-x" })] }),
      node("pi-03", { memoryFree: 3 * GiB }),
    ];
    const decision = place(
      { spec: spec({ devices: [{ class: "zigbee" }], resources: { memoryBytes: 2 * GiB } }) },
      { nodes },
    );
    expect(decision.ok).toBe(false);
    if (decision.ok) return;
    expect(decision.message).toBe(
      "no node satisfies: memory >= 2GiB (pi-01 has 1.8GiB free); device zigbee (0 of 3 nodes have a free one; pi-02 has one but it is in use by svc-x; pi-01, pi-03 have none)",
    );
  });
});
