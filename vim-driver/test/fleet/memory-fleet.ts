/**
 * An in-memory fleet for unit tests of the driver side's core: nodes (FleetNode records the test edits: online,
 * capabilities) and an agent per node whose runtime is a map of deployments (deploy is idempotent by id, as the
 * real agent's; list, inspect, remove, images.list). Tests can kill a replica (state `exited`), cut a node off
 * (offline: every call fails UNAVAILABLE, as the AgentPool does) and see every call made.
 */
import {
  IotFogError,
  createLogger,
  nodeCapabilitiesSchema,
  type AgentClient,
  type DeploymentInfo,
} from "@openiotfog/shared";
import type { AgentDirectory, NodeDirectory } from "../../src/fleet/directories";
import type { FleetNode } from "../../src/fleet/types";

export const silentLogger = createLogger({ component: "test", silent: true });

export interface MemoryNodeOptions {
  labels?: Record<string, string>;
  devices?: Array<{ id: string; class: string; path: string; protocols?: string[] }>;
  memoryBytes?: number;
}

export class MemoryFleet implements NodeDirectory, AgentDirectory {
  readonly nodesById = new Map<string, FleetNode>();
  /** nodeId → agent deployment id → what the agent runs. */
  readonly runtime = new Map<string, Map<string, DeploymentInfo>>();
  readonly calls: string[] = [];
  /** Nodes whose agent fails every call (a node that is online in the view but does not answer). */
  readonly silent = new Set<string>();

  addNode(nodeId: string, opts: MemoryNodeOptions = {}): FleetNode {
    const memory = opts.memoryBytes ?? 2 * 1024 ** 3;
    const node: FleetNode = {
      nodeId,
      online: true,
      lastSeen: 0,
      endpoint: `tcp://127.0.0.1:0/${nodeId}`,
      capabilities: nodeCapabilitiesSchema.parse({
        schemaVersion: 1,
        nodeId,
        hostname: nodeId,
        platform: { arch: "amd64", os: "linux" },
        agentVersion: "0.1.0",
        resources: {
          cpu: { cores: 4 },
          memory: { totalBytes: memory, freeBytes: memory },
          disk: { totalBytes: 1e11, freeBytes: 5e10 },
        },
        labels: opts.labels ?? {},
        devices: (opts.devices ?? []).map((d) => ({
          id: d.id,
          class: d.class,
          path: d.path,
          protocols: d.protocols ?? [],
        })),
      }),
    };
    this.nodesById.set(nodeId, node);
    this.runtime.set(nodeId, new Map());
    return node;
  }

  setOnline(nodeId: string, online: boolean): void {
    const n = this.nodesById.get(nodeId);
    if (n === undefined) throw new Error(`no node ${nodeId}`);
    n.online = online;
    if (online) delete n.offlineReason;
    else n.offlineReason = "expired";
  }

  /** The container of a replica stopped (the agent lists it `exited`). */
  kill(nodeId: string, agentId: string): void {
    const d = this.runtime.get(nodeId)?.get(agentId);
    if (d === undefined) throw new Error(`${agentId} does not run on ${nodeId}`);
    d.state = "exited";
  }

  /** Agent ids running on a node. */
  running(nodeId: string): string[] {
    return [...(this.runtime.get(nodeId)?.values() ?? [])]
      .filter((d) => d.state === "running")
      .map((d) => d.deploymentId)
      .sort();
  }

  nodes(): FleetNode[] {
    return [...this.nodesById.values()].map((n) => structuredClone(n));
  }

  node(nodeId: string): FleetNode | undefined {
    const n = this.nodesById.get(nodeId);
    return n === undefined ? undefined : structuredClone(n);
  }

  client(nodeId: string): AgentClient {
    const node = this.nodesById.get(nodeId);
    if (node === undefined) throw new IotFogError("NOT_FOUND", `node "${nodeId}" is not known to the fleet`);
    if (!node.online) throw new IotFogError("UNAVAILABLE", `node "${nodeId}" is offline`);
    const call = async (command: string, params: Record<string, unknown>): Promise<unknown> => {
      this.calls.push(
        `${nodeId}:${command}${typeof params.deploymentId === "string" ? ` ${params.deploymentId}` : ""}`,
      );
      if (!this.nodesById.get(nodeId)?.online || this.silent.has(nodeId))
        throw new IotFogError("TIMEOUT", `node "${nodeId}" did not answer`);
      const runtime = this.runtime.get(nodeId) as Map<string, DeploymentInfo>;
      switch (command) {
        case "images.list":
          return {
            images: [{ id: "sha256:test", tags: ["openiotfog/testbox:latest"], createdAt: 1, sizeBytes: 1 }],
          };
        case "deploy": {
          const id = params.deploymentId as string;
          const existing = runtime.get(id);
          if (existing !== undefined) {
            if (existing.state !== "running") existing.state = "running";
            return { deployment: structuredClone(existing), created: false };
          }
          const spec = params.spec as { name: string; image: string };
          const info: DeploymentInfo = {
            deploymentId: id,
            nodeId,
            service: spec.name,
            replica: params.replica as number,
            image: spec.image,
            desired: "running",
            state: "running",
            containerName: `c-${id}`,
            devices: (
              (params.devices ?? []) as Array<{
                device: { id: string };
                hostPath: string;
                containerPath: string;
              }>
            ).map((d) => ({ deviceId: d.device.id, hostPath: d.hostPath, containerPath: d.containerPath })),
            createdAt: 1,
          };
          runtime.set(id, info);
          return { deployment: structuredClone(info), created: true };
        }
        case "start": {
          const d = runtime.get(params.deploymentId as string);
          if (d === undefined)
            throw new IotFogError("NOT_FOUND", `no deployment ${String(params.deploymentId)}`);
          d.state = "running";
          d.desired = "running";
          return structuredClone(d);
        }
        case "list":
          return { deployments: [...runtime.values()].map((d) => structuredClone(d)) };
        case "inspect": {
          const d = runtime.get(params.deploymentId as string);
          if (d === undefined)
            throw new IotFogError("NOT_FOUND", `no deployment ${String(params.deploymentId)}`);
          return structuredClone(d);
        }
        case "remove": {
          const removed = runtime.delete(params.deploymentId as string);
          return { deploymentId: params.deploymentId, removed };
        }
        default:
          throw new IotFogError("UNSUPPORTED", `memory agent: ${command}`);
      }
    };
    return { endpoint: node.endpoint, call } as unknown as AgentClient;
  }
}
