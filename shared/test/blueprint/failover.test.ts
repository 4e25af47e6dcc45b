import {
  IotFogError,
  nodeLossPolicy,
  parseBlueprint,
  parseDurationMs,
  serviceSpecSchema,
} from "@openiotfog/shared";

const blueprint = (properties: string): string => `tosca_definitions_version: openiotfog_blueprint_1_0
metadata:
  name: demo
topology_template:
  node_templates:
    gw:
      type: openiotfog.nodes.Container
      properties:
        image: openiotfog/testbox:latest
${properties.replace(/^/gm, "        ")}
`;

function errorOf(text: string): string {
  try {
    parseBlueprint(text, "demo.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(IotFogError);
    return (e as IotFogError).message;
  }
  throw new Error("expected the blueprint to be refused");
}

describe("failover policy (on_node_loss, grace, fence_after)", () => {
  it("blueprint fields become the spec's failover policy, durations with units", () => {
    const [gw] = parseBlueprint(blueprint("on_node_loss: keep\ngrace: 30s\nfence_after: 1m"), "x").services;
    expect(gw?.failover).toEqual({ onNodeLoss: "keep", graceMs: 30000, fenceAfterMs: 60000 });
    const [bare] = parseBlueprint(blueprint("grace: 2.5"), "x").services;
    expect(bare?.failover).toEqual({ graceMs: 2500 });
    expect(parseBlueprint(blueprint(""), "x").services[0]?.failover).toBeUndefined();
  });

  it("bad values are refused naming the field", () => {
    expect(errorOf(blueprint("on_node_loss: move"))).toMatch(/on_node_loss.*replace.*keep|on_node_loss/);
    expect(errorOf(blueprint("grace: soon"))).toMatch(/grace.*"soon" is not a duration such as 500ms, 30s/);
    expect(errorOf(blueprint("fence_after: -5s"))).toMatch(/fence_after/);
    expect(() => serviceSpecSchema.parse({ name: "x", image: "i", failover: { graceMs: -1 } })).toThrow(
      /graceMs/,
    );
  });

  it("the default policy: replace, except services with volumes (their data is on the node)", () => {
    const spec = (extra: object) => serviceSpecSchema.parse({ name: "x", image: "i", ...extra });
    expect(nodeLossPolicy(spec({}))).toBe("replace");
    expect(nodeLossPolicy(spec({ volumes: [{ source: "data", target: "/data" }] }))).toBe("keep");
    expect(
      nodeLossPolicy(
        spec({ volumes: [{ source: "data", target: "/data" }], failover: { onNodeLoss: "replace" } }),
      ),
    ).toBe("replace");
  });

  it("parseDurationMs: ms, s, m, h; a bare number is seconds", () => {
    expect([
      parseDurationMs("500ms"),
      parseDurationMs("30s"),
      parseDurationMs("2m"),
      parseDurationMs("1h"),
    ]).toEqual([500, 30000, 120000, 3600000]);
    expect(parseDurationMs(1.5)).toBe(1500);
    expect(() => parseDurationMs("1 fortnight", "grace")).toThrow(/^grace: "1 fortnight" is not a duration/);
  });
});
