import { performance } from "node:perf_hooks";
import {
  IotFogError,
  agentDeploymentId,
  errorMessage,
  isIotFogError,
  serverExtId,
  sleep,
  type DeploymentInfo,
  type NetworkAttachment,
} from "@openiotfog/shared";
import type { ReplicaDecision } from "../fleet/types";
import type { DriverConfig } from "../config";
import type { Server, VimInstance } from "./catalogue";
import { DriverError } from "./dispatcher";
import { nodeAddress } from "./fleet/live-fleet";
import type { NodeCalls } from "./fleet/node-calls";
import type { VnfcDeployments } from "./fleet/vnfc-deployments";
import type { FogImages } from "./images";
import { flavourFor, translateLaunch } from "./launch-translation";
import type { LaunchRequest } from "./methods";
import type { FogNetworks } from "./networks";
import type { FogServers, ServerSource } from "./servers";

export interface VnfcLauncherParts {
  config: Pick<DriverConfig, "flavors" | "launchTimeoutMs" | "agents">;
  calls: NodeCalls;
  deployments: VnfcDeployments;
  images: FogImages;
  networks: FogNetworks;
  servers: FogServers;
}

/**
 * The launch path of one VNFC: resolve the image, translate the request (launch-translation.ts), then the fleet's
 * deploy (placement that sees every other deployment, image copy from a peer node, agent deploy, record) with the
 * virtual links' networks made ready on the chosen node, then wait until the container runs, all inside
 * launchTimeoutMs. A failure once the agent was asked to create the container answers `exception.server` (status
 * ERROR) and removes what was created.
 */
export class VnfcLauncher {
  constructor(private readonly parts: VnfcLauncherParts) {}

  async launch(vim: VimInstance, req: LaunchRequest): Promise<Server> {
    const { config, calls, deployments, images, networks, servers } = this.parts;
    const t0 = performance.now();
    const deadline = Date.now() + config.launchTimeoutMs;
    if (calls.fleet.live().length === 0)
      throw new DriverError("no live fog node (no agent presence on MQTT)");
    const image = await images.resolve(req.image);
    const { spec, aliases } = translateLaunch(config.flavors, vim, req, image.tag);
    const { flavour } = flavourFor(config.flavors, req.flavor);
    const name = deployments.newName();
    const agentId = agentDeploymentId(name, spec.name, 0);
    const virtualLinks = [...aliases.keys()];
    const at: { nodeId?: string; starting: boolean; networks?: Promise<NetworkAttachment[]> } = {
      starting: false,
    };
    // Where the time goes (logged with every launch): ms since t0 at the end of each step.
    const steps: Record<string, number> = { resolved: performance.now() - t0 };
    const deploying = deployments.deploy(
      name,
      spec,
      (p) => {
        steps[p.phase] = performance.now() - t0;
        if (p.phase === "placed") {
          at.nodeId = p.nodeId;
          // The networks are made ready on the chosen node while the fleet checks its image.
          at.networks = networks.attachments(p.nodeId, aliases);
          at.networks.catch(() => undefined);
        } else if (p.phase === "starting") at.starting = true;
      },
      (nodeId) => at.networks ?? networks.attachments(nodeId, aliases),
    );
    try {
      const record = await beforeDeadline(deploying, deadline, `launch of ${req.hostname}`);
      const replica = record.replicas[0];
      if (replica === undefined) throw new IotFogError("INTERNAL", `deployment ${name} has no replica`);
      let source: ServerSource = replica;
      if (req.wait && replica.state !== "running") {
        const info = await this.waitRunning(replica.nodeId, agentId, req.hostname, deadline);
        source = { ...replica, state: info.state, containerName: info.containerName };
      }
      const node = calls.fleet.liveNode(replica.nodeId);
      servers.remember(serverExtId(replica.nodeId, agentId), {
        hostname: req.hostname,
        image: { extId: image.extId, name: image.tag },
        flavor: flavour,
        virtualLinks,
        floatingLinks: Object.keys(req.floatingIps),
        address: node ? nodeAddress(node) : replica.nodeId,
        created: new Date(record.createdAt).toISOString(),
      });
      steps.running = performance.now() - t0;
      calls.logger.info("launched", {
        hostname: req.hostname,
        nodeId: replica.nodeId,
        deploymentId: agentId,
        steps: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      });
      return servers.toServer(source);
    } catch (e) {
      const nodeId = at.nodeId;
      if (nodeId === undefined) throw new DriverError(placementMessage(e));
      const message = `launch of ${req.hostname} on ${nodeId} failed: ${errorMessage(e)}`;
      if (!at.starting) throw new DriverError(message);
      // The container may exist (or still be coming): report it to the NFVO, remove it once the deploy settled.
      const partial = servers.toServer(
        {
          nodeId,
          agentDeploymentId: agentId,
          service: spec.name,
          image: image.tag,
          state: "dead",
          containerName: req.hostname,
        },
        "ERROR",
      );
      void deploying
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => servers.discard(name, nodeId, agentId));
      throw new DriverError(message, { ...partial, hostName: req.hostname, name: req.hostname });
    }
  }

  private async waitRunning(
    nodeId: string,
    agentId: string,
    hostname: string,
    deadline: number,
  ): Promise<DeploymentInfo> {
    const client = this.parts.calls.agents.client(nodeId);
    for (;;) {
      const info = await client.call(
        "inspect",
        { deploymentId: agentId },
        {
          timeoutMs: Math.max(1, Math.min(this.parts.config.agents.requestTimeoutMs, deadline - Date.now())),
        },
      );
      if (info.state === "running") return info;
      if (["exited", "dead", "missing"].includes(info.state) || Date.now() > deadline) {
        throw new IotFogError(
          "RUNTIME_ERROR",
          `container of ${hostname} on ${nodeId} is ${info.state}${info.exitCode === undefined ? "" : ` (exit code ${info.exitCode})`}`,
        );
      }
      await sleep(100);
    }
  }
}

/** Rejects with TIMEOUT when `work` has not settled by `deadline` (epoch ms); `work` itself goes on. */
async function beforeDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new IotFogError("TIMEOUT", `${what} did not finish in time`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The placement engine's own explanation of the first replica it could not place. */
function placementMessage(e: unknown): string {
  if (isIotFogError(e) && e.code === "PLACEMENT_FAILED" && Array.isArray(e.details?.decisions)) {
    for (const d of e.details.decisions as ReplicaDecision[]) if (!d.decision.ok) return d.decision.message;
  }
  return errorMessage(e);
}
