import { readFileSync } from "node:fs";
import path from "node:path";

const REPO = path.resolve(__dirname, "../..");

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}

describe("the Grafana dashboard", () => {
  const dashboard = JSON.parse(
    readFileSync(path.join(REPO, "deploy/grafana/openiotfog-fleet.json"), "utf8"),
  ) as {
    panels: Panel[];
  };
  const table = readFileSync(path.join(REPO, "docs/metrics.md"), "utf8");

  it("has the fleet overview, per-node and Open Baton rows", () => {
    const rows = dashboard.panels.filter((p) => p.type === "row").map((p) => p.title);
    expect(rows).toEqual(["Fleet overview", "Per node ($node)", "Open Baton activity"]);
  });

  it("queries only metrics the docs' table lists", () => {
    const used = new Set<string>();
    for (const p of dashboard.panels) {
      for (const t of p.targets ?? []) {
        for (const m of t.expr.matchAll(/\b(iotfog_[a-z0-9_]+?)(?:_bucket)?\b/g)) used.add(m[1]!);
      }
    }
    expect(used.size).toBeGreaterThan(20);
    const missing = [...used].filter((name) => !table.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
