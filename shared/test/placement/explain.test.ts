import { parseConstraints, place, placementError, type NodeExplanation } from "@openiotfog/shared";
import { GiB, node, spec, zigbeeDongle } from "../fixtures";

const strict = spec({
  name: "z2m",
  resources: { memoryBytes: 2 * GiB, cpus: 2 },
  devices: [{ class: "zigbee" }],
  constraints: parseConstraints([
    "node.labels.zone==line-1",
    "node.platform.arch==amd64",
    "node.labels.cell==c1 || node.labels.cell==c2",
  ]),
});

const fleet = [
  node("pi-01", { labels: { zone: "line-2", cell: "c9" }, memoryFree: 1 * GiB, cores: 1 }),
  node("pi-02", {
    labels: { zone: "line-1", cell: "c1" },
    devices: [zigbeeDongle("zb-2", { inUseBy: "svc-x" })],
  }),
  node("pi-03", { labels: { zone: "line-1" }, online: false }),
];

function byNode(nodes: NodeExplanation[]): Record<string, string[]> {
  return Object.fromEntries(
    nodes.map((n) => [
      n.nodeId,
      n.failures.map((f) => `${f.filter}: ${f.predicate} [saw ${f.seen}] (${f.reason})`),
    ]),
  );
}

describe("explanations", () => {
  it("lists every failed predicate per node, not only the first, with the value seen", () => {
    const d = place({ spec: strict }, { nodes: fleet });
    expect(d.ok).toBe(false);
    expect(byNode(d.explanation.nodes)).toEqual({
      "pi-01": [
        "constraints: node.labels.zone == line-1 [saw line-2] (mismatch)",
        "constraints: node.platform.arch == amd64 [saw arm64] (mismatch)",
        "constraints: any of (node.labels.cell == c1) or (node.labels.cell == c2) [saw node.labels.cell is c9] (mismatch)",
        "resources: memory >= 2GiB [saw 1GiB free] (insufficient)",
        "resources: cpu >= 2 cores [saw 1 core free] (insufficient)",
        "devices: device zigbee [saw none] (missing)",
      ],
      "pi-02": [
        "constraints: node.platform.arch == amd64 [saw arm64] (mismatch)",
        "devices: device zigbee [saw one but it is in use by svc-x] (in_use)",
      ],
      "pi-03": [
        "availability: node online [saw offline] (offline)",
        "constraints: node.platform.arch == amd64 [saw arm64] (mismatch)",
        "constraints: any of (node.labels.cell == c1) or (node.labels.cell == c2) [saw node.labels.cell is no value] (mismatch)",
        "devices: device zigbee [saw none] (missing)",
      ],
    });
    expect(d.explanation.rejectedBy).toMatchObject({
      "node.platform.arch == amd64": 3,
      "device zigbee": 3,
      "node online": 1,
      "memory >= 2GiB": 1,
    });
    expect(d.explanation.nodesEvaluated).toBe(3);
    expect(d.explanation.nodesFeasible).toBe(0);
  });

  it("says why in one operator sentence, clause per predicate, grouping nodes with the same value", () => {
    const d = place({ spec: strict }, { nodes: fleet });
    if (d.ok) throw new Error("expected a failure");
    expect(d.message).toBe(
      "no node satisfies: node online (pi-03 is offline); " +
        "node.labels.zone == line-1 (pi-01 has line-2); " +
        "node.platform.arch == amd64 (pi-01, pi-02, pi-03 have arm64); " +
        "any of (node.labels.cell == c1) or (node.labels.cell == c2) (pi-01 has node.labels.cell is c9; pi-03 has node.labels.cell is no value); " +
        "memory >= 2GiB (pi-01 has 1GiB free); cpu >= 2 cores (pi-01 has 1 core free); " +
        "device zigbee (0 of 3 nodes have a free one; pi-02 has one but it is in use by svc-x; pi-01, pi-03 have none)",
    );
    const error = placementError(d);
    expect(error.code).toBe("PLACEMENT_FAILED");
    expect(error.message).toBe(d.message);
    expect(error.details?.explanation).toBe(d.explanation);
  });

  it("an empty fleet has its own sentence", () => {
    const d = place({ spec: strict }, { nodes: [] });
    expect(!d.ok && d.message).toBe("no node satisfies: no nodes are known (service z2m)");
    const spreadOut = spec({
      constraints: parseConstraints(["distinct_property node.labels.cell"]),
      spread: [{ attribute: "node.labels.cell", weight: 50, targets: [] }],
    });
    expect(place({ spec: spreadOut }, { nodes: [] }).ok).toBe(false);
  });

  it("shortens long node lists", () => {
    const many = Array.from({ length: 7 }, (_, i) => node(`n${i}`, { labels: { zone: `z${i % 2}` } }));
    const d = place(
      { spec: spec({ constraints: parseConstraints(["node.labels.zone==z9"]) }) },
      { nodes: many },
    );
    expect(!d.ok && d.message).toBe(
      "no node satisfies: node.labels.zone == z9 (n0, n2, n4 and 1 more have z0; n1, n3, n5 have z1)",
    );
  });

  it("on success gives the chosen node's scores, and with explain=full every node's detail", () => {
    const nodes = [
      node("a", { labels: { zone: "line-1" } }),
      node("b", { labels: { zone: "line-2" } }),
      node("c", { online: false }),
    ];
    const s = spec({
      preferences: [
        { weight: 50, term: { attribute: "node.labels.zone", operator: "equal", value: "line-1" } },
      ],
    });
    const summary = place({ spec: s }, { nodes });
    if (!summary.ok) throw new Error(summary.message);
    expect(summary.nodeId).toBe("a");
    expect(summary.explanation.nodes).toHaveLength(1);
    expect(summary.explanation.nodes[0]).toMatchObject({ nodeId: "a", feasible: true, failures: [] });
    expect(summary.scores.map((x) => x.scorer)).toEqual(["preferences", "resources"]);
    expect(summary.scores.find((x) => x.scorer === "preferences")?.score).toBe(100);
    for (const x of summary.scores) expect(x.score).toBeGreaterThanOrEqual(0);
    for (const x of summary.scores) expect(x.score).toBeLessThanOrEqual(100);
    expect(summary.explanation.rejectedBy).toEqual({ "node online": 1 });

    const full = place({ spec: s }, { nodes }, { explain: "full" });
    if (!full.ok) throw new Error(full.message);
    expect(full.explanation.nodes.map((n) => [n.nodeId, n.feasible, n.finalScore !== undefined])).toEqual([
      ["a", true, true],
      ["b", true, true],
      ["c", false, false],
    ]);
    const b = full.explanation.nodes.find((n) => n.nodeId === "b");
    // Preferences map -1..1 onto 0..100: meeting none of them is neutral (50), not a penalty.
    expect(b?.scores?.find((x) => x.scorer === "preferences")?.score).toBe(50);
    expect(full.explanation.nodes.find((n) => n.nodeId === "c")?.failures).toEqual([
      { filter: "availability", predicate: "node online", seen: "offline", reason: "offline" },
    ]);
  });
});
