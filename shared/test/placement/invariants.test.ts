import { parseConstraints, place, planDeployment, type NodeState } from "@openiotfog/shared";
import { GiB, node, spec, zigbeeDongle } from "../fixtures";

/** Deterministic PRNG, so a failure here replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const constraintPool = [
  "node.labels.zone==z1",
  "node.labels.zone!=z2",
  "node.platform.arch==arm64 || node.platform.arch==amd64",
  "node.resources.memory.free >= 1GiB",
  "node.resources.cpu.cores in_range [2, 8]",
  'node.software.docker version ">= 20.10"',
  "node.protocols set_contains_any [opcua, modbus-rtu]",
  "node.labels.cell is_set",
  "node.hostname =~ [02468]$",
  "distinct_property node.labels.cell 2",
  "max_per_node 2",
];

function fleet(rand: () => number, size: number): NodeState[] {
  return Array.from({ length: size }, (_, i) => {
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    return node(`n${i}`, {
      online: rand() > 0.1,
      platform: { arch: pick(["arm64", "amd64", "arm"] as const), os: "linux" },
      cores: pick([1, 2, 4, 8]),
      memoryFree: pick([0.5, 1, 2, 3]) * GiB,
      software: rand() > 0.2 ? [{ name: "docker", version: pick(["19.03.1", "20.10.7", "24.0.7"]) }] : [],
      protocols: rand() > 0.5 ? ["opcua"] : ["mqtt"],
      labels: { zone: pick(["z1", "z2", "z3"]), ...(rand() > 0.3 ? { cell: pick(["c1", "c2", "c3"]) } : {}) },
      devices: rand() > 0.6 ? [zigbeeDongle(`zb-${i}`)] : [],
    });
  });
}

describe("placement invariants over random fleets and constraint sets", () => {
  it("never throws, and the explanation agrees with the decision", () => {
    const rand = prng(7);
    for (let round = 0; round < 200; round++) {
      const nodes = fleet(rand, 1 + Math.floor(rand() * 12));
      const chosen = constraintPool.filter(() => rand() > 0.6);
      const s = spec({
        replicas: 1 + Math.floor(rand() * 4),
        constraints: parseConstraints(chosen),
        resources: { memoryBytes: Math.floor(rand() * 2 * GiB) + 1 },
        devices: rand() > 0.7 ? [{ class: "zigbee" }] : [],
      });
      const d = place({ spec: s }, { nodes }, { explain: "full" });
      const feasible = d.explanation.nodes.filter((n) => n.failures.length === 0);
      expect(d.explanation.nodes).toHaveLength(nodes.length);
      expect(d.explanation.nodesFeasible).toBe(feasible.length);
      for (const n of d.explanation.nodes) expect(n.feasible).toBe(n.failures.length === 0);
      if (d.ok) {
        expect(feasible.map((n) => n.nodeId)).toContain(d.nodeId);
        const best = Math.max(...feasible.map((n) => n.finalScore ?? -1));
        expect(d.finalScore).toBeCloseTo(best, 9);
        expect(d.devices).toHaveLength(s.devices.length);
      } else {
        expect(feasible).toHaveLength(0);
        expect(d.message.startsWith("no node satisfies: ")).toBe(true);
      }
      // Summary mode decides the same node.
      const summary = place({ spec: s }, { nodes });
      expect(summary.ok && summary.nodeId).toBe(d.ok && d.nodeId);
      // A plan never over-commits a node's memory or leases a device twice.
      const plan = planDeployment([s], { nodes });
      for (const n of plan.snapshot.nodes) {
        const reserved = n.allocations.reduce((sum, a) => sum + (a.resources.memoryBytes ?? 0), 0);
        expect(reserved).toBeLessThanOrEqual(n.capabilities.resources.memory.freeBytes);
        const leased = n.allocations.flatMap((a) => a.devices.map((x) => x.id));
        expect(new Set(leased).size).toBe(leased.length);
      }
    }
  });
});
