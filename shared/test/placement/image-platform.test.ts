import {
  applyScenario,
  distinctPlatforms,
  imageKey,
  place,
  planDeployment,
  platformRuns,
  type ClusterSnapshot,
  type ImagePlatform,
} from "@openiotfog/shared";
import { node, spec } from "../fixtures";

const amd64: ImagePlatform = { os: "linux", architecture: "amd64" };
const arm64: ImagePlatform = { os: "linux", architecture: "arm64" };
const armV7: ImagePlatform = { os: "linux", architecture: "arm", variant: "v7" };

const x86 = node("edge-x86", { platform: { arch: "amd64", os: "linux" } });
const pi3 = node("pi-3"); // the fixture's node is a Pi: linux/arm64

function fleet(images: Record<string, ImagePlatform[]>, nodes = [x86, pi3]): ClusterSnapshot {
  return { nodes, images };
}

describe("image platform filter", () => {
  it("places an amd64-only image on the amd64 node and says why the Pi was left out", () => {
    const d = place({ spec: spec({ image: "openiotfog/x" }) }, fleet({ "openiotfog/x:latest": [amd64] }), {
      explain: "full",
    });
    expect(d.ok && d.nodeId).toBe("edge-x86");
    const pi = d.explanation.nodes.find((n) => n.nodeId === "pi-3");
    expect(pi?.failures).toEqual([
      {
        filter: "image-platform",
        predicate: "image openiotfog/x for the node's platform",
        seen: "linux/arm64",
        reason: "platform",
      },
    ]);
  });

  it("refuses when only a node of another architecture could take it, in one operator sentence", () => {
    const d = place(
      { spec: spec({ image: "openiotfog/x" }) },
      fleet({ "openiotfog/x:latest": [amd64] }, [pi3]),
    );
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.message).toBe(
      "no node satisfies: image openiotfog/x has linux/amd64 only; node pi-3 is linux/arm64",
    );
  });

  it("groups several rejected nodes by platform", () => {
    const pi4 = node("pi-4");
    const x86b = node("edge-b", { platform: { arch: "amd64", os: "linux" } });
    const d = place(
      { spec: spec({ image: "openiotfog/y:1" }) },
      fleet({ "openiotfog/y:1": [armV7] }, [pi3, pi4, x86b]),
    );
    expect(!d.ok && d.message).toBe(
      "no node satisfies: image openiotfog/y:1 has linux/arm/v7 only; nodes pi-3, pi-4 are linux/arm64; node edge-b is linux/amd64",
    );
  });

  it("lets a multi-arch image go to either node", () => {
    const d = place(
      { spec: spec({ image: "openiotfog/m:latest" }) },
      fleet({ "openiotfog/m:latest": [amd64, arm64] }),
      { explain: "full" },
    );
    expect(d.ok).toBe(true);
    expect(d.explanation.nodesFeasible).toBe(2);
  });

  it("does not constrain an image no node has reported (the pull decides)", () => {
    const d = place({ spec: spec({ image: "registry.local:5000/unknown" }) }, fleet({}), { explain: "full" });
    expect(d.explanation.nodesFeasible).toBe(2);
  });

  it("compares the ARM variant only where both name one", () => {
    const v6 = node("pi-zero", { platform: { arch: "arm", variant: "v6", os: "linux" } });
    const noVariant = node("arm-old", { platform: { arch: "arm", os: "linux" } });
    const d = place({ spec: spec({ image: "a/b" }) }, fleet({ "a/b:latest": [armV7] }, [v6, noVariant]), {
      explain: "full",
    });
    expect(d.ok && d.nodeId).toBe("arm-old");
    expect(d.explanation.nodes.find((n) => n.nodeId === "pi-zero")?.failures[0]?.seen).toBe("linux/arm/v6");
  });

  it("keeps the image platforms through a plan and a what-if scenario", () => {
    const snapshot = fleet({ "openiotfog/x:latest": [amd64] });
    const plan = planDeployment([spec({ image: "openiotfog/x", replicas: 2 })], snapshot);
    expect(plan.replicas.map((r) => r.decision.ok && r.decision.nodeId)).toEqual(["edge-x86", "edge-x86"]);
    expect(plan.snapshot.images).toEqual(snapshot.images);
    const lost = planDeployment(
      [spec({ image: "openiotfog/x" })],
      applyScenario(snapshot, { loseNodes: ["edge-x86"] }),
    );
    expect(lost.problems).toEqual([
      "svc replica 0: no node satisfies: image openiotfog/x has linux/amd64 only; node pi-3 is linux/arm64",
    ]);
  });
});

describe("platforms", () => {
  it("knows the kernel's names for Go's architectures", () => {
    expect(platformRuns({ os: "linux", architecture: "x86_64" }, amd64)).toBe(true);
    expect(platformRuns({ os: "linux", architecture: "aarch64" }, amd64)).toBe(false);
    expect(platformRuns({ os: "windows", architecture: "amd64" }, amd64)).toBe(false);
  });

  it("lists each platform once, in a stable order", () => {
    expect(distinctPlatforms([arm64, amd64, { os: "linux", architecture: "x86_64" }])).toEqual([
      amd64,
      arm64,
    ]);
  });

  it.each([
    ["openiotfog/x", "openiotfog/x:latest"],
    ["openiotfog/x:1.2", "openiotfog/x:1.2"],
    ["registry.local:5000/x", "registry.local:5000/x:latest"],
    ["x@sha256:abc", "x@sha256:abc"],
  ])("keys %s as %s", (image, key) => {
    expect(imageKey(image)).toBe(key);
  });
});
