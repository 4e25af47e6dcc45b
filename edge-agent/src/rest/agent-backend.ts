import {
  IOTFOG_VERSION,
  IotFogError,
  errorMessage,
  parseBlueprint,
  toIotFogError,
  type DeploymentInfo,
  type NodeCapabilities,
  type ServiceSpec,
} from "@openiotfog/shared";
import type { DeployFn } from "../deploy/pipeline";
import type { HardwareStats } from "../hardware/handler";
import { deviceHolders } from "../hardware/leases";
import type { DeviceUsageTracker } from "../hardware/usage";
import type { EventBus } from "../monitoring/bus";
import type {
  DeploymentView,
  ReadinessReport,
  RestBackend,
  RestDeployBody,
  RestDeployOutcome,
} from "./schemas";

/** The parts of the agent the REST API reads and drives (structural, so the API needs no Docker in tests). */
export interface AgentBackendDeps {
  nodeId: string;
  startedAt: number;
  capabilities: { current(): NodeCapabilities };
  deployments: {
    list(): Promise<DeploymentInfo[]>;
    removeDeployment(id: string, timeoutSeconds: number): Promise<{ deploymentId: string; removed: boolean }>;
  };
  runtime: { readonly name: string; listContainers(): Promise<unknown[]> };
  /** The deploy pipeline (admission, leases, forwarding). */
  deploy: DeployFn;
  bus: EventBus;
  hardwareStats: () => HardwareStats;
  tracker: DeviceUsageTracker;
  /** Peers known from MQTT: id, state, endpoint. */
  peers: () => Array<{ nodeId: string; state: string; endpoint?: string; lastSeen: number }>;
  /** The addresses this agent serves (commands, hardware events, events PUB, REST). */
  endpoints: () => Record<string, string>;
  defaultHopLimit: number;
}

/** Ids of one blueprint's deployments: `<base>-<service>-<replica>`, or the base itself for a single replica. */
function deploymentIds(
  base: string,
  services: readonly ServiceSpec[],
): Array<{ spec: ServiceSpec; replica: number; id: string }> {
  const single = services.length === 1 && services[0]?.replicas === 1;
  return services.flatMap((spec) =>
    Array.from({ length: spec.replicas }, (_, replica) => ({
      spec,
      replica,
      id: single ? base : `${base}-${spec.name}-${replica}`,
    })),
  );
}

function baseIdFrom(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_.-]/g, "-").replace(/^[^a-zA-Z0-9]+/, "");
  return cleaned === "" ? "blueprint" : cleaned.slice(0, 64);
}

export class AgentRestBackend implements RestBackend {
  readonly nodeId: string;
  readonly events: RestBackend["events"];

  constructor(private readonly d: AgentBackendDeps) {
    this.nodeId = d.nodeId;
    this.events = d.bus;
  }

  async status(): Promise<Record<string, unknown>> {
    const caps = this.d.capabilities.current();
    const deployments = await this.d.deployments.list().catch(() => []);
    return {
      nodeId: this.d.nodeId,
      agentVersion: IOTFOG_VERSION,
      uptimeMs: Date.now() - this.d.startedAt,
      endpoints: this.d.endpoints(),
      runtime: this.d.runtime.name,
      deployments: {
        total: deployments.length,
        running: deployments.filter((x) => x.state === "running").length,
        degraded: this.d.tracker.degradedCount(),
      },
      devices: deviceHolders(caps.devices, deployments),
      hardwareEvents: this.d.hardwareStats(),
      events: this.d.bus.stats(),
      peers: this.d.peers(),
    };
  }

  async readiness(): Promise<ReadinessReport> {
    const checks: ReadinessReport["checks"] = {};
    try {
      this.d.capabilities.current();
      checks.capabilities = { ok: true };
    } catch (e) {
      checks.capabilities = { ok: false, detail: errorMessage(e) };
    }
    try {
      await this.d.runtime.listContainers();
      checks.runtime = { ok: true };
    } catch (e) {
      checks.runtime = { ok: false, detail: errorMessage(e) };
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  async capabilities(): Promise<NodeCapabilities> {
    return this.d.capabilities.current();
  }

  async containers(): Promise<unknown[]> {
    return this.d.runtime.listContainers();
  }

  async deployments(): Promise<DeploymentView[]> {
    return (await this.d.deployments.list()).map((info) => {
      const degraded = this.d.tracker.health(info.deploymentId);
      return degraded === undefined
        ? { ...info, health: "ok" as const }
        : {
            ...info,
            health: "degraded" as const,
            missingDevices: degraded.missingDevices,
            degradedSince: degraded.since,
          };
    });
  }

  async deploy(body: RestDeployBody): Promise<RestDeployOutcome[]> {
    let services: ServiceSpec[];
    let base: string;
    if (body.service !== undefined) {
      services = [body.service];
      base = body.deploymentId ?? body.service.name;
    } else {
      // A blueprint object is JSON, which is YAML: one parser, one set of error messages (field and line).
      const text =
        typeof body.blueprint === "string" ? body.blueprint : JSON.stringify(body.blueprint, null, 1);
      const blueprint = parseBlueprint(text, "request body field blueprint");
      services = blueprint.services;
      base = body.deploymentId ?? baseIdFrom(blueprint.name);
    }
    const outcomes: RestDeployOutcome[] = [];
    for (const { spec, replica, id } of deploymentIds(base, services)) {
      try {
        const result = await this.d.deploy({
          deploymentId: id,
          spec,
          replica,
          devices: [],
          start: body.start,
          forward: { allowed: body.forward, hopLimit: body.hopLimit ?? this.d.defaultHopLimit, visited: [] },
        });
        const nodeId = result.deployment.nodeId;
        outcomes.push({
          deploymentId: id,
          service: spec.name,
          replica,
          nodeId,
          forwarded: nodeId !== this.d.nodeId,
          route: result.route ?? [nodeId],
          created: result.created,
          state: result.deployment.state,
        });
      } catch (e) {
        const err = toIotFogError(e);
        // What did run stays running; the caller learns which did and which did not.
        throw new IotFogError(err.code, `${id} (${spec.name}): ${err.message}`, {
          ...err.details,
          deployed: outcomes,
          failed: id,
        });
      }
    }
    return outcomes;
  }

  remove(deploymentId: string, timeoutSeconds: number): Promise<{ deploymentId: string; removed: boolean }> {
    return this.d.deployments.removeDeployment(deploymentId, timeoutSeconds);
  }
}
