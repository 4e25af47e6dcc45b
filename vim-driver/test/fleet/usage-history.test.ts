import { UsageHistory } from "../../src/fleet/usage-history";

const node = { cpuCores: 4, memoryTotalBytes: 4e9, intervalMs: 1000 };

describe("UsageHistory", () => {
  it("keeps each node's points oldest first, at most maxPoints and only inside the window", () => {
    const h = new UsageHistory({ windowMs: 10_000, maxPoints: 5 });
    for (let t = 1000; t <= 8000; t += 1000) h.record("pi-1", { t, memoryUsedBytes: t }, node);
    expect(h.since(0, 8000)[0]?.points.map((p) => p.t)).toEqual([4000, 5000, 6000, 7000, 8000]);
    h.record("pi-1", { t: 30_000, cpuBusyCores: 1, memoryUsedBytes: 1 }, node);
    expect(h.since(0, 30_000)[0]?.points).toEqual([{ t: 30_000, cpuBusyCores: 1, memoryUsedBytes: 1 }]);
  });

  it("answers only the points after `since`, every node sorted by id, and forgets a node", () => {
    const h = new UsageHistory();
    h.record("pi-2", { t: 1000, memoryUsedBytes: 1 }, { ...node, cpuCores: 2 });
    h.record("pi-1", { t: 1000, memoryUsedBytes: 1 }, node);
    h.record("pi-1", { t: 2000, memoryUsedBytes: 2 }, node);
    const after = h.since(1000, 2000);
    expect(after.map((n) => [n.nodeId, n.points.length])).toEqual([
      ["pi-1", 1],
      ["pi-2", 0],
    ]);
    expect(after[1]?.cpuCores).toBe(2);
    h.forget("pi-2");
    expect(h.since(0, 2000).map((n) => n.nodeId)).toEqual(["pi-1"]);
  });
});
