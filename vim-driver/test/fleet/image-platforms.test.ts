import {
  IotFogError,
  createLogger,
  nodeCapabilitiesSchema,
  type AgentClient,
  type ImagePlatform,
} from "@openiotfog/shared";
import { ImagePlatforms } from "../../src/fleet/image-platforms";
import { ImageDistribution } from "../../src/fleet/images";
import type { FleetNode } from "../../src/fleet/types";

const logger = createLogger({ component: "test", silent: true });
const amd64: ImagePlatform = { os: "linux", architecture: "amd64" };
const arm64: ImagePlatform = { os: "linux", architecture: "arm64" };
const IMAGE = "openiotfog/multi";

function node(nodeId: string, arch: "amd64" | "arm64", online = true): FleetNode {
  return {
    nodeId,
    online,
    lastSeen: 0,
    endpoint: "tcp://127.0.0.1:1",
    capabilities: nodeCapabilitiesSchema.parse({
      schemaVersion: 1,
      nodeId,
      hostname: nodeId,
      platform: { arch, os: "linux" },
      agentVersion: "0.1.0",
      resources: {
        cpu: { cores: 2 },
        memory: { totalBytes: 2e9, freeBytes: 1e9 },
        disk: { totalBytes: 1e10, freeBytes: 5e9 },
      },
    }),
  };
}

/**
 * Agents that answer images.list from a table and record transfers (the image bytes themselves are the real
 * agent's business: test/integration/driver-image-copy.test.ts).
 */
function fakeAgents(held: Record<string, Array<{ tags: string[]; platform?: ImagePlatform }>>) {
  const calls: string[] = [];
  const client = (nodeId: string) =>
    ({
      call: async (command: string) => {
        calls.push(`${nodeId}:${command}`);
        if (command === "images.list") {
          const images = held[nodeId];
          if (images === undefined) throw new IotFogError("UNAVAILABLE", `${nodeId} does not answer`);
          return {
            images: images.map((i, n) => ({ id: `sha256:${nodeId}${n}`, sizeBytes: 1, createdAt: 0, ...i })),
          };
        }
        throw new IotFogError("IMAGE_NOT_FOUND", `${nodeId} cannot ${command}`);
      },
      openExport: async () => {
        calls.push(`${nodeId}:export`);
        return {
          sizeBytes: 3,
          sha256: "0".repeat(64),
          chunks: async function* () {
            yield Buffer.from("abc");
          },
          close: async () => undefined,
        };
      },
      importStream: async (
        _size: number,
        _sha: string,
        feed: (w: (b: Buffer) => Promise<void>) => Promise<void>,
      ) => {
        calls.push(`${nodeId}:import`);
        await feed(async () => undefined);
        return { images: [IMAGE], sizeBytes: 3 };
      },
    }) as unknown as AgentClient;
  return { client, calls };
}

describe("ImagePlatforms: an image's platforms, learnt from the nodes holding it", () => {
  it("joins what every online node holds into one entry per image", async () => {
    const nodes = [node("pc-b", "amd64"), node("pi-c", "arm64"), node("pi-off", "arm64", false)];
    const agents = fakeAgents({
      "pc-b": [{ tags: [`${IMAGE}:latest`], platform: amd64 }, { tags: ["old/agent:1"] }],
      "pi-c": [{ tags: [`${IMAGE}:latest`, "other:2"], platform: arm64 }],
      "pi-off": [{ tags: ["never/asked:1"], platform: arm64 }],
    });
    const index = new ImagePlatforms({
      fleet: { nodes: () => nodes },
      agents,
      logger,
      requestTimeoutMs: 100,
    });
    await index.refresh();
    expect(index.known()).toEqual({
      "openiotfog/multi:latest": [amd64, arm64],
      "other:2": [arm64],
    });
    expect(agents.calls).not.toContain("pi-off:images.list");
  });

  it("asks a node again only after the TTL, and keeps a node's last list when it does not answer", async () => {
    let now = 0;
    const nodes = [node("pc-b", "amd64")];
    const held = { "pc-b": [{ tags: ["a:1"], platform: amd64 }] };
    const agents = fakeAgents(held);
    const index = new ImagePlatforms({
      fleet: { nodes: () => nodes },
      agents,
      logger,
      requestTimeoutMs: 100,
      ttlMs: 1000,
      now: () => now,
    });
    now = 5000;
    await index.refresh();
    await index.refresh();
    expect(agents.calls).toEqual(["pc-b:images.list"]);
    delete (held as Record<string, unknown>)["pc-b"];
    now = 7000;
    await index.refresh();
    expect(agents.calls).toHaveLength(2);
    expect(index.known()).toEqual({ "a:1": [amd64] });
  });
});

describe("peer image copy never goes to a node of another architecture", () => {
  function distribution(held: Parameters<typeof fakeAgents>[0]) {
    const nodes = [node("pi-a", "arm64"), node("pc-b", "amd64"), node("pi-c", "arm64")];
    const agents = fakeAgents(held);
    const images = new ImageDistribution({
      fleet: { nodes: () => nodes, node: (id) => nodes.find((n) => n.nodeId === id) },
      agents,
      logger,
      imageTransferTimeoutMs: 100,
      now: () => 0,
    });
    return { images, calls: agents.calls };
  }

  it("copies to the Pi from the node holding the arm64 build, not from the first node holding the tag", async () => {
    const { images, calls } = distribution({
      "pi-a": [],
      "pc-b": [{ tags: [`${IMAGE}:latest`], platform: amd64 }],
      "pi-c": [{ tags: [`${IMAGE}:latest`], platform: arm64 }],
    });
    const progress: string[] = [];
    await images.ensure({ service: "s", replica: 0, nodeId: "pi-a", image: IMAGE }, (p) =>
      progress.push(`${p.action}:${p.fromNodeId ?? ""}`),
    );
    expect(calls.filter((c) => c.endsWith("export") || c.endsWith("import"))).toEqual([
      "pi-c:export",
      "pi-a:import",
    ]);
    expect(progress[0]).toBe("copy:pi-c");
  });

  it("with only an amd64 copy in the fleet, pulls on the Pi instead of copying it", async () => {
    const { images, calls } = distribution({
      "pi-a": [],
      "pc-b": [{ tags: [`${IMAGE}:latest`], platform: amd64 }],
      "pi-c": [],
    });
    await expect(
      images.ensure({ service: "s", replica: 0, nodeId: "pi-a", image: IMAGE }, () => undefined),
    ).rejects.toThrow(/openiotfog\/multi is on no online node and cannot be pulled on pi-a/);
    expect(calls).not.toContain("pc-b:export");
    expect(calls).toContain("pi-a:images.pull");
  });
});
