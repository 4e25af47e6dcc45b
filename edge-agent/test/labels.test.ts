import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { agentCommands, createLogger, labelsChangeSchema, parseWith } from "@openiotfog/shared";
import { MAX_NODE_LABELS, OperatorLabels, applyLabelChange, effectiveLabels } from "../src/labels/store";

const logger = createLogger({ component: "test", silent: true });

/** The agent's own check of `labels.set` params, as the command endpoint runs it. */
function labelsSetParams(params: unknown): unknown {
  return parseWith(agentCommands["labels.set"].params, params, "labels.set params", "BAD_REQUEST");
}

describe("labels.set validation", () => {
  it("accepts Docker / Kubernetes style keys and one-line values, including empty ones", () => {
    expect(
      labelsSetParams({
        set: { zone: "line-1", "factory.io/cell": "press 2", gpu: "", L2: "x" },
        remove: ["old"],
      }),
    ).toEqual({ set: { zone: "line-1", "factory.io/cell": "press 2", gpu: "", L2: "x" }, remove: ["old"] });
    expect(labelsSetParams({})).toEqual({ set: {}, remove: [] });
  });

  it.each([
    [{ set: { "": "x" } }, 'field "set.": label key must not be empty'],
    [{ set: { "line 2": "x" } }, 'field "set.line 2": label key "line 2" must be 1-128 letters'],
    [{ set: { "-line": "x" } }, 'field "set.-line": label key "-line" must be'],
    [{ set: { "zone==a": "x" } }, 'field "set.zone==a": label key'],
    [{ set: { ["k".repeat(129)]: "x" } }, "label key"],
    [{ remove: ["a b"] }, 'field "remove[0]": label key "a b"'],
    [{ remove: [""] }, 'field "remove[0]": label key must not be empty'],
    [{ set: { line: "2\n3" } }, 'field "set.line": must not contain control characters'],
    [{ set: { line: " 2" } }, 'field "set.line": must not start or end with a space'],
    [{ set: { line: "x".repeat(257) } }, 'field "set.line": must be at most 256 characters'],
    [{ set: { line: 2 } }, 'field "set.line": must be a string'],
    [{ set: { line: "3" }, remove: ["line"] }, 'field "remove[0]": "line" is also in "set"'],
    [{ labels: { a: "b" } }, "Unrecognized key(s) in object: 'labels'"],
  ])("refuses %j naming the field", (params, message) => {
    expect(() => labelsSetParams(params)).toThrow(message);
  });

  it("limits how many labels one change may touch", () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    expect(() => labelsSetParams({ set: many })).toThrow('field "set": must set at most 64 labels at once');
    expect(() => labelsSetParams({ remove: Object.keys(many) })).toThrow(
      'field "remove": must remove at most 64 labels at once',
    );
  });
});

describe("operator labels over the config's", () => {
  const config = { zone: "line-1", cell: "press" };

  it("overrides and extends the config's labels; a removal hides a config label until it is set again", () => {
    let layer = applyLabelChange(
      { set: {}, removed: [] },
      labelsChangeSchema.parse({ set: { zone: "line-2", line: "2" } }),
    );
    expect(effectiveLabels(config, layer)).toEqual({ zone: "line-2", cell: "press", line: "2" });
    layer = applyLabelChange(layer, labelsChangeSchema.parse({ remove: ["cell", "line"] }));
    expect(effectiveLabels(config, layer)).toEqual({ zone: "line-2" });
    expect(layer).toEqual({ set: { zone: "line-2" }, removed: ["cell", "line"] });
    layer = applyLabelChange(layer, labelsChangeSchema.parse({ set: { cell: "weld" } }));
    expect(effectiveLabels(config, layer)).toEqual({ zone: "line-2", cell: "weld" });
    expect(layer.removed).toEqual(["line"]);
  });
});

describe("OperatorLabels store", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-labels-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function store(seen: Array<Record<string, string>> = []): OperatorLabels {
    return new OperatorLabels(dir, "n1", { zone: "line-1" }, (l) => seen.push(l), logger);
  }

  it("writes each change to disk before it takes effect, and a restarted agent loads it", async () => {
    const seen: Array<Record<string, string>> = [];
    const a = store(seen);
    await a.start();
    expect(seen).toEqual([{ zone: "line-1" }]);
    const [first, second] = await Promise.all([
      a.change(labelsChangeSchema.parse({ set: { line: "2" } })),
      a.change(labelsChangeSchema.parse({ remove: ["zone"] })),
    ]);
    expect(first).toEqual({
      labels: { zone: "line-1", line: "2" },
      operator: { set: { line: "2" }, removed: [] },
      changed: true,
    });
    expect(second.labels).toEqual({ line: "2" });
    expect(seen.at(-1)).toEqual({ line: "2" });
    await a.stop();
    expect(readdirSync(dir)).toEqual(["labels.json"]);
    expect(JSON.parse(readFileSync(path.join(dir, "labels.json"), "utf8"))).toEqual({
      v: 1,
      nodeId: "n1",
      set: { line: "2" },
      removed: ["zone"],
    });

    const restarted: Array<Record<string, string>> = [];
    const b = store(restarted);
    await b.start();
    expect(restarted).toEqual([{ line: "2" }]);
    expect(b.labels()).toEqual({ line: "2" });
  });

  it("a change that changes nothing is not written and not republished", async () => {
    const seen: Array<Record<string, string>> = [];
    const s = store(seen);
    await s.start();
    const r = await s.change(labelsChangeSchema.parse({ remove: ["never-set"] }));
    expect(r.changed).toBe(true); // remembered: a config label of that key would stay hidden
    const again = await s.change(labelsChangeSchema.parse({ remove: ["never-set"] }));
    expect(again.changed).toBe(false);
    expect(seen).toHaveLength(2);
  });

  it("refuses a change that would give the node more than the maximum number of labels", async () => {
    const s = store();
    await s.start();
    for (let i = 0; i < MAX_NODE_LABELS - 1; i += 64) {
      const set = Object.fromEntries(
        Array.from({ length: Math.min(64, MAX_NODE_LABELS - 1 - i) }, (_, j) => [`k${i + j}`, "v"]),
      );
      await s.change(labelsChangeSchema.parse({ set }));
    }
    expect(Object.keys(s.labels())).toHaveLength(MAX_NODE_LABELS);
    await expect(s.change(labelsChangeSchema.parse({ set: { one: "more" } }))).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    expect(Object.keys(s.labels())).toHaveLength(MAX_NODE_LABELS);
  });

  it("moves an unreadable or foreign labels file aside and runs with the config's labels", async () => {
    writeFileSync(path.join(dir, "labels.json"), "{ torn");
    const seen: Array<Record<string, string>> = [];
    await store(seen).start();
    expect(seen).toEqual([{ zone: "line-1" }]);
    expect(readdirSync(dir).some((f) => f.startsWith("labels.json.unreadable-"))).toBe(true);

    writeFileSync(
      path.join(dir, "labels.json"),
      JSON.stringify({ v: 1, nodeId: "other", set: { line: "9" }, removed: [] }),
    );
    const s = store();
    await s.start();
    expect(s.labels()).toEqual({ zone: "line-1" });
  });
});
