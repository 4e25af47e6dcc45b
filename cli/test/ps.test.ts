import type { DeploymentRecord, FleetNode } from "@openiotfog/vim-driver";
import { figuresByReplica, psTable, withFigures } from "../src/commands/workloads";

const deployment: DeploymentRecord = {
  id: "gw",
  createdAt: 0,
  status: "running",
  origin: "api",
  services: [{ name: "gateway", image: "testbox", replicas: 2 }],
  replicas: [0, 1].map((replica) => ({
    service: "gateway",
    replica,
    nodeId: "pi-07",
    agentDeploymentId: `gw.gateway.${replica}`,
    image: "testbox",
    state: "running" as const,
    containerName: `iotfog-pi-07-gw.gateway.${replica}`,
    devices: [],
    resources: {},
    exclusiveDevices: [],
    sharedDevices: [],
  })),
};

describe("iotfog ps", () => {
  it("shows each replica's CPU (100% = one core) and memory from its node's heartbeat, - when unknown", () => {
    const nodes: FleetNode[] = [
      {
        nodeId: "pi-07",
        online: true,
        lastSeen: 0,
        containers: [
          {
            deploymentId: "gw.gateway.0",
            cpuCores: 0.125,
            memoryBytes: 5 * 1024 * 1024,
            memoryLimitBytes: 64 * 1024 * 1024,
            restarts: 0,
          },
        ],
      },
    ];
    const out = psTable([deployment], figuresByReplica(nodes));
    const [header, first, second] = out.split("\n");
    expect(header).toMatch(
      /^DEPLOYMENT\s+REPLICA\s+NODE\s+STATE\s+STATUS\s+CPU\s+MEMORY\s+CONTAINER\s+IMAGE$/,
    );
    expect(first).toMatch(
      /^gw\s+gateway#0\s+pi-07\s+running\s+running\s+12\.5%\s+5MiB \/ 64MiB\s+iotfog-pi-07/,
    );
    expect(second).toMatch(/^gw\s+gateway#1\s+pi-07\s+running\s+running\s+-\s+-\s+iotfog-pi-07/);
  });

  it("-o json adds each replica's figures as usage, and nothing for a replica without them", () => {
    const figures = figuresByReplica([
      {
        nodeId: "pi-07",
        online: true,
        lastSeen: 0,
        containers: [
          { deploymentId: "gw.gateway.1", cpuCores: 0.5, memoryBytes: 1, memoryLimitBytes: 2, restarts: 3 },
        ],
      },
    ]);
    const [out] = withFigures([deployment], figures);
    expect(out?.replicas[0]).not.toHaveProperty("usage");
    expect(out?.replicas[1]).toMatchObject({
      agentDeploymentId: "gw.gateway.1",
      usage: { cpuCores: 0.5, memoryBytes: 1, memoryLimitBytes: 2, restarts: 3 },
    });
    expect(out?.replicas[1]?.usage).not.toHaveProperty("deploymentId");
  });
});
