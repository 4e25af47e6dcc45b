import { createHash } from "node:crypto";
import {
  FENCE_STOP_SECONDS,
  IotFogError,
  containerName,
  errorMessage,
  type Component,
  type DeployParams,
  type DeployResult,
  type DeploymentInfo,
  type Device,
  type Logger,
  type NodeEventType,
} from "@openiotfog/shared";
import type { AgentConfig } from "../config";
import type { CapabilityService } from "../discovery/service";
import { HostPolicyGuard, dropRefusedSavedState } from "../host-policy";
import {
  DEPLOYMENT_LABEL,
  type ContainerRuntime,
  type ContainerStatus,
  type ContainerLogLine,
} from "../runtime/runtime";
import type { SavedDeployment, StateStore } from "../state/store";
import { admitNewDeployment, leaseHolders } from "./admission";
import { DeploymentContainers, deploymentInfoOf, repointAssignment } from "./containers";

/** What the manager reads of the node's capabilities: admission's view, and the device paths discovery found. */
export type DeploymentCapabilities = Pick<CapabilityService, "current" | "discoveredDevicePaths">;

export type ReconcileAction = "recreated" | "started" | "failed";

/** Told what the deployment manager did (MQTT node events, metrics). Observers never change what it does. */
export interface DeploymentObserver {
  event?(type: NodeEventType, data: Record<string, unknown>): void;
  reconcileAction?(action: ReconcileAction): void;
}

/** Hash of what a deploy asks for; equal hashes mean "the same deploy again". */
export function deployFingerprint(params: DeployParams): string {
  const { spec, replica, devices, networks } = params;
  return createHash("sha256").update(JSON.stringify({ spec, replica, devices, networks })).digest("hex");
}

/**
 * Runs what this node was asked to run and keeps it running: deploy (idempotent by deployment id), start, stop,
 * remove, and a reconcile loop that works from the persisted desired state alone, so after an agent restart or
 * an offline reboot containers are re-adopted by label, restarted, and re-created when missing.
 */
export class DeploymentManager implements Component {
  readonly name = "deployments";
  private readonly locks = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | undefined;
  private warnedUnknown = new Set<string>();
  private readonly guard: HostPolicyGuard;
  private readonly containers: DeploymentContainers;
  /** Saved deployments are judged by the host-safety policy once per process, before anything is re-created. */
  private savedStateChecked = false;
  private readonly observers: DeploymentObserver[] = [];
  /** How long the node has not heard from the fleet (fencing/contact.ts); unset: nothing is fenced. */
  private fleetSilence: (() => number) | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly runtime: ContainerRuntime,
    private readonly store: StateStore,
    private readonly capabilities: DeploymentCapabilities,
    private readonly logger: Logger,
  ) {
    this.guard = new HostPolicyGuard(config.nodeId, config.hostPolicy, runtime, capabilities);
    this.containers = new DeploymentContainers(config.nodeId, runtime, config.runtime.pullMissingImages);
  }

  observe(observer: DeploymentObserver): void {
    this.observers.push(observer);
  }

  private emit(type: NodeEventType, data: Record<string, unknown>): void {
    for (const o of this.observers) o.event?.(type, data);
  }

  private onReconcileAction(action: ReconcileAction): void {
    for (const o of this.observers) o.reconcileAction?.(action);
  }

  /** Fences services by the node's silence (fencing/fencing.ts); checked first at start, before re-adopting. */
  fenceBy(silentForMs: () => number): void {
    this.fleetSilence = silentForMs;
  }

  async start(): Promise<void> {
    this.store.load();
    // A node that comes back cut off (e.g. a reboot during a network outage) stops what it should no longer run
    // before it re-adopts or restarts anything.
    if (this.fleetSilence !== undefined) await this.fenceOverdue(this.fleetSilence());
    // Offline-first: no broker, no driver needed here; only the local state file and the runtime.
    await this.reconcile(true).catch((e: unknown) =>
      this.logger.error("start-up reconcile failed; will retry", { error: errorMessage(e) }),
    );
    if (this.config.reconcileIntervalMs > 0) {
      this.timer = setInterval(
        () => void this.reconcile(false).catch(() => undefined),
        this.config.reconcileIntervalMs,
      );
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.reconciling?.catch(() => undefined);
    await Promise.allSettled([...this.locks.values()]);
    await this.store.flush();
  }

  /** Runs `fn` after every earlier operation on the same deployment: a retry waits for and then sees the first. */
  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.locks.set(id, next);
    void next
      .finally(() => {
        if (this.locks.get(id) === next) this.locks.delete(id);
      })
      .catch(() => undefined);
    return next;
  }

  private record(id: string): SavedDeployment {
    const r = this.store.get(id);
    if (r === undefined)
      throw new IotFogError("NOT_FOUND", `no deployment ${id} on node ${this.config.nodeId}`);
    return r;
  }

  deploy(params: DeployParams): Promise<DeployResult> {
    const fingerprint = deployFingerprint(params);
    return this.serial(params.deploymentId, async () => {
      const existing = this.store.get(params.deploymentId);
      if (existing !== undefined) {
        if (existing.fingerprint !== fingerprint) {
          throw new IotFogError(
            "CONFLICT",
            `deployment ${params.deploymentId} already exists on node ${this.config.nodeId} with a different request; remove it first`,
          );
        }
        if (existing.firstResult !== undefined) return existing.firstResult;
      }
      let devices = existing?.devices;
      if (devices === undefined) {
        devices = await admitNewDeployment(params, {
          guard: this.guard,
          capabilities: () => this.capabilities.current(),
          admissionEnabled: this.config.admission.enabled,
          holders: () => this.leaseHolders(),
        });
      }
      await this.containers.ensureImage(params.spec.image);
      const record: SavedDeployment = existing ?? {
        deploymentId: params.deploymentId,
        spec: params.spec,
        replica: params.replica,
        devices,
        ...(params.networks !== undefined ? { networks: params.networks } : {}),
        desired: params.start ? "running" : "stopped",
        containerName: containerName(this.config.nodeId, params.deploymentId),
        fingerprint,
        createdAt: Date.now(),
      };
      // Desired state is on disk before the container exists: a crash in between is finished by reconcile.
      await this.store.put(record);
      let status: ContainerStatus;
      try {
        status = await this.containers.ensure(record);
        if (record.desired === "running") await this.runtime.startContainer(status.id);
      } catch (e) {
        await this.containers.remove(record.deploymentId, 0).catch(() => undefined);
        await this.store.delete(record.deploymentId);
        throw e;
      }
      const result: DeployResult = { deployment: await this.containers.info(record), created: true };
      await this.store.put({ ...record, firstResult: result });
      this.logger.info("deployed", {
        deploymentId: record.deploymentId,
        service: record.spec.name,
        container: status.id,
      });
      this.emit("deployment.created", { deploymentId: record.deploymentId, service: record.spec.name });
      return result;
    });
  }

  /**
   * Stops every desired-running service whose `fence_after` the node's silence has reached, and marks it fenced
   * so that nothing but the driver's `start` runs it again.
   */
  async fenceOverdue(silentForMs: number): Promise<void> {
    const due = this.store
      .all()
      .filter(
        (r) =>
          r.desired === "running" &&
          r.fencedAt === undefined &&
          r.spec.failover?.fenceAfterMs !== undefined &&
          silentForMs >= r.spec.failover.fenceAfterMs,
      );
    for (const r of due) {
      await this.serial(r.deploymentId, async () => {
        const current = this.store.get(r.deploymentId);
        if (current === undefined || current.fencedAt !== undefined || current.desired !== "running") return;
        // Saved first: a crash in the middle leaves it fenced, and a restart stops it again.
        await this.store.put({ ...current, fencedAt: Date.now() });
        for (const c of await this.containers.of(r.deploymentId))
          await this.runtime.stopContainer(c.id, FENCE_STOP_SECONDS);
        this.logger.warn("fenced: cut off from the fleet longer than its fence_after; stopped", {
          deploymentId: r.deploymentId,
          silentForMs,
          fenceAfterMs: current.spec.failover?.fenceAfterMs,
        });
        this.emit("deployment.stopped", { deploymentId: r.deploymentId, reason: "fenced" });
      });
    }
  }

  startDeployment(id: string): Promise<DeploymentInfo> {
    return this.serial(id, async () => {
      // The driver's start is what ends a fence: it sends it only for a replica still declared here.
      const { fencedAt: _fenced, ...saved } = this.record(id);
      const record = { ...saved, desired: "running" as const };
      // Its container may have died and its devices gone to another deployment meanwhile (leaseHolders).
      if (record.devices.length > 0) await this.guard.check(record, await this.leaseHolders());
      await this.store.put(record);
      const status = await this.containers.ensure(record);
      await this.runtime.startContainer(status.id);
      this.emit("deployment.started", { deploymentId: id });
      return this.containers.info(record);
    });
  }

  stopDeployment(id: string, timeoutSeconds: number): Promise<DeploymentInfo> {
    return this.serial(id, async () => {
      const record = { ...this.record(id), desired: "stopped" as const };
      await this.store.put(record);
      for (const c of await this.containers.of(id)) await this.runtime.stopContainer(c.id, timeoutSeconds);
      this.emit("deployment.stopped", { deploymentId: id });
      return this.containers.info(record);
    });
  }

  removeDeployment(id: string, timeoutSeconds: number): Promise<{ deploymentId: string; removed: boolean }> {
    return this.serial(id, async () => {
      const known = this.store.get(id) !== undefined;
      const removed = await this.containers.remove(id, timeoutSeconds);
      await this.store.delete(id);
      if (known || removed > 0) this.emit("deployment.removed", { deploymentId: id });
      return { deploymentId: id, removed: known || removed > 0 };
    });
  }

  /**
   * A detached device is back (issue 5, hardware events): re-create the container so its mappings point at the
   * devices' current host paths (a stick may return as another ttyUSB). Docker cannot change a container's devices.
   */
  restoreDevices(id: string, devices: Device[]): Promise<DeploymentInfo> {
    return this.serial(id, async () => {
      const record = this.record(id);
      const updated: SavedDeployment = {
        ...record,
        devices: record.devices.map((a) => {
          const now = devices.find((d) => d.id === a.device.id);
          return now === undefined ? a : repointAssignment(a, now);
        }),
      };
      // A hardware event may have said where the device is now: that path must be one discovery found too.
      await this.guard.check(updated, this.store.all());
      await this.store.put(updated);
      await this.containers.remove(id, 5);
      const created = await this.containers.create(updated);
      if (updated.desired === "running" && updated.fencedAt === undefined)
        await this.runtime.startContainer(created.id);
      this.emit("deployment.recreated", { deploymentId: id, reason: "devices restored" });
      return this.containers.info(updated);
    });
  }

  /** The deployments whose device leases count now (deploy/admission.ts). */
  private leaseHolders(): Promise<SavedDeployment[]> {
    return leaseHolders(this.store.all(), () => this.runtime.listContainers());
  }

  inspect(id: string): Promise<DeploymentInfo> {
    return this.containers.info(this.record(id));
  }

  async list(): Promise<DeploymentInfo[]> {
    const containers = await this.runtime.listContainers();
    return this.store.all().map((r) =>
      deploymentInfoOf(
        this.config.nodeId,
        r,
        containers.find((c) => c.labels[DEPLOYMENT_LABEL] === r.deploymentId),
      ),
    );
  }

  async logs(id: string, tail: number, timestamps: boolean): Promise<ContainerLogLine[]> {
    this.record(id);
    const [container] = await this.containers.of(id);
    if (container === undefined)
      throw new IotFogError("NOT_FOUND", `deployment ${id} has no container right now`);
    return this.runtime.logs(container.id, { tail, timestamps });
  }

  /** Counts for heartbeats. */
  async summary(): Promise<{ total: number; running: number }> {
    const containers = await this.runtime.listContainers();
    const ids = new Set(this.store.all().map((r) => r.deploymentId));
    const running = containers.filter(
      (c) => c.state === "running" && ids.has(c.labels[DEPLOYMENT_LABEL] ?? ""),
    ).length;
    return { total: ids.size, running };
  }

  /**
   * Brings containers in line with the desired state: re-creates missing ones, starts ones left `created`, and at
   * start-up (after an agent restart or a reboot) starts desired-running containers Docker did not restart.
   */
  reconcile(startup: boolean): Promise<void> {
    this.reconciling ??= this.doReconcile(startup).finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  private async doReconcile(startup: boolean): Promise<void> {
    if (!this.savedStateChecked) {
      await dropRefusedSavedState({
        guard: this.guard,
        store: this.store,
        logger: this.logger,
        emit: (type, data) => this.emit(type, data),
        serial: (id, fn) => this.serial(id, fn),
        removeContainers: (id) => this.containers.remove(id, 0),
      });
      this.savedStateChecked = true;
    }
    const containers = await this.runtime.listContainers();
    const known = new Set(this.store.all().map((r) => r.deploymentId));
    for (const c of containers) {
      const dep = c.labels[DEPLOYMENT_LABEL] ?? "";
      if (!known.has(dep) && !this.warnedUnknown.has(c.id)) {
        this.warnedUnknown.add(c.id);
        this.logger.warn("container of this node with no desired state; leaving it alone", {
          container: c.name,
          deploymentId: dep,
        });
      }
    }
    for (const record of this.store.all()) {
      await this.serial(record.deploymentId, async () => {
        const current = this.store.get(record.deploymentId);
        if (current === undefined) return; // removed meanwhile
        try {
          await this.reconcileOne(current, startup, containers);
        } catch (e) {
          this.logger.error("reconcile failed", {
            deploymentId: current.deploymentId,
            error: errorMessage(e),
          });
          this.emit("deployment.failed", { deploymentId: current.deploymentId, error: errorMessage(e) });
          this.onReconcileAction("failed");
        }
      });
    }
  }

  private async reconcileOne(
    record: SavedDeployment,
    startup: boolean,
    listed: ContainerStatus[],
  ): Promise<void> {
    // The pass's one listing settles the usual case (a container there and not left `created`: nothing to do),
    // so a periodic pass costs one Engine call, not one per deployment. Anything that would act is decided on
    // a fresh listing: a command may have changed the container since.
    const seen = listed.find((c) => c.labels[DEPLOYMENT_LABEL] === record.deploymentId);
    if (record.fencedAt !== undefined) {
      // Fenced: never started, re-created or re-adopted here; one Docker restarted (a reboot) is stopped again.
      if (seen?.state === "running") await this.runtime.stopContainer(seen.id, FENCE_STOP_SECONDS);
      return;
    }
    if (!startup && seen !== undefined && (record.desired !== "running" || seen.state !== "created")) return;
    const [container] = await this.containers.of(record.deploymentId);
    if (container === undefined) {
      await this.guard.check(record, this.store.all());
      await this.containers.ensureImage(record.spec.image);
      const created = await this.containers.create(record);
      if (record.desired === "running") await this.runtime.startContainer(created.id);
      this.logger.info("re-created missing container", {
        deploymentId: record.deploymentId,
        container: created.id,
      });
      this.emit("deployment.recreated", { deploymentId: record.deploymentId });
      this.onReconcileAction("recreated");
      return;
    }
    if (record.desired !== "running") return;
    const restartAfterBoot =
      startup && (container.state === "exited" || container.state === "dead") && record.spec.restart !== "no";
    if (container.state === "created" || restartAfterBoot) {
      await this.runtime.startContainer(container.id);
      this.logger.info("started container", { deploymentId: record.deploymentId, was: container.state });
      this.onReconcileAction("started");
    }
    if (startup)
      this.emit("deployment.adopted", { deploymentId: record.deploymentId, state: container.state });
  }
}
