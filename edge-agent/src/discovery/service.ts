import { EventEmitter } from "node:events";
import {
  IOTFOG_VERSION,
  errorMessage,
  nodeCapabilitiesSchema,
  type Component,
  type Device,
  type LiveResources,
  type Logger,
  type NodeCapabilities,
  type Software,
} from "@openiotfog/shared";
import type { AgentConfig } from "../config";
import type { ContainerRuntime } from "../runtime/runtime";
import { discoverDevices } from "./devices";
import { fingerprintPlatform } from "./platform";
import { fingerprintCpu, fingerprintDisk, fingerprintLoad, fingerprintMemory } from "./resources";
import { fingerprintSoftware } from "./software";
import { HostTree } from "./sysfs";

/** JSON with sorted keys: the capability schema reorders fields, and a device must compare equal to itself. */
function stableJson(value: object): string {
  return JSON.stringify(value, Object.keys(value).sort());
}

export interface DeviceChanges {
  added: Device[];
  removed: Device[];
}

export interface CapabilityEvents {
  /** The capability document changed in a way peers must hear about (devices, software, engine). */
  changed: [NodeCapabilities];
  devices: [DeviceChanges];
}

/**
 * Owns the node's capability document: runs every fingerprinter at start, refreshes live values (memory, disk,
 * load) on one interval and rescans devices on another, and emits `changed` when what placement cares about
 * changes (a stick plugged or unplugged, the runtime coming up).
 */
export class CapabilityService extends EventEmitter<CapabilityEvents> implements Component {
  readonly name = "capabilities";
  private readonly tree: HostTree;
  private caps: NodeCapabilities | undefined;
  private runtimeSoftware: Software[] = [];
  private engineLabels: Record<string, string> = {};
  private probedSoftware: Software[] = [];
  private diskPath: string;
  private runtimeKnown = false;
  private timers: NodeJS.Timeout[] = [];
  private deviceOverlay: ((discovered: Device[]) => Device[]) | undefined;
  private scanning: Promise<DeviceChanges> | undefined;
  /** What the last scan of sysfs and /dev found, before hardware events are layered over it. */
  private scanned: Device[] = [];
  /** The config's labels until the operator label layer hands over the effective ones (setLabels). */
  private labels: Record<string, string>;

  constructor(
    private readonly config: AgentConfig,
    private readonly runtime: ContainerRuntime | undefined,
    private readonly logger: Logger,
  ) {
    super();
    this.tree = new HostTree(config.discovery.sysRoot, config.discovery.devRoot);
    this.diskPath = config.discovery.diskPath ?? config.dataDir;
    this.labels = config.labels;
  }

  async start(): Promise<void> {
    this.probedSoftware = await fingerprintSoftware(this.config.software, this.logger);
    await this.probeRuntime();
    const devices = await this.scanDevices();
    this.caps = await this.build(devices);
    this.logger.info("capabilities discovered", {
      arch: this.caps.platform.arch,
      devices: this.caps.devices.map((d) => `${d.class}:${d.id}`),
      software: this.caps.software.map((s) => `${s.name}@${s.version}`),
    });
    const { refreshIntervalMs, deviceScanIntervalMs } = this.config.discovery;
    this.timers.push(
      setInterval(() => void this.refreshLive(), refreshIntervalMs),
      setInterval(() => void this.rescanDevices().catch(() => undefined), deviceScanIntervalMs),
    );
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.scanning?.catch(() => undefined);
  }

  /** The latest capability document. */
  current(): NodeCapabilities {
    if (this.caps === undefined) throw new Error("capabilities requested before discovery ran");
    return this.caps;
  }

  /** Live values for heartbeats, read now. */
  async live(): Promise<LiveResources> {
    const disk = await fingerprintDisk(this.diskPath);
    return {
      memory: fingerprintMemory(),
      disk: { totalBytes: disk.totalBytes, freeBytes: disk.freeBytes },
      load: fingerprintLoad(),
      cpuCores: fingerprintCpu().cores,
    };
  }

  /**
   * Lets another part of the agent (the hardware event handler) layer devices it heard about over what sysfs
   * shows; applied on every scan.
   */
  setDeviceOverlay(overlay: ((discovered: Device[]) => Device[]) | undefined): void {
    this.deviceOverlay = overlay;
  }

  /**
   * Replaces the operator labels (config and run-time changes merged, see labels/store.ts). After discovery
   * this updates the document at once and emits `changed`, so MQTT presence republishes it.
   */
  setLabels(labels: Record<string, string>): void {
    this.labels = { ...labels };
    if (this.caps === undefined) return;
    this.caps = nodeCapabilitiesSchema.parse({ ...this.caps, labels: this.labels });
    this.emit("changed", this.caps);
  }

  /** Re-runs every fingerprinter (the `capabilities` command with refresh). */
  async refresh(): Promise<NodeCapabilities> {
    this.probedSoftware = await fingerprintSoftware(this.config.software, this.logger);
    await this.probeRuntime();
    await this.rescanDevices();
    await this.update();
    return this.current();
  }

  /**
   * Kernel and stable paths of the devices the agent's own discovery found (sysfs and /dev), never those only a
   * hardware event reported: the host-safety policy maps only these into containers. `rescan` scans first.
   */
  async discoveredDevicePaths(rescan: boolean): Promise<Set<string>> {
    if (rescan) await this.rescanDevices();
    const paths = new Set<string>();
    for (const d of this.scanned) {
      paths.add(d.path);
      if (d.stablePath !== undefined) paths.add(d.stablePath);
    }
    return paths;
  }

  /** Rescans devices now; emits `devices` and `changed` when the set differs. */
  rescanDevices(): Promise<DeviceChanges> {
    this.scanning ??= this.doRescan().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async doRescan(): Promise<DeviceChanges> {
    const before = this.caps?.devices ?? [];
    const devices = await this.scanDevices();
    const key = (d: Device): string => stableJson(d);
    const beforeKeys = new Set(before.map(key));
    const afterKeys = new Set(devices.map(key));
    const changes: DeviceChanges = {
      added: devices.filter((d) => !beforeKeys.has(key(d))),
      removed: before.filter((d) => !afterKeys.has(key(d))),
    };
    if (changes.added.length > 0 || changes.removed.length > 0) {
      this.caps = await this.build(devices);
      this.logger.info("devices changed", {
        added: changes.added.map((d) => d.id),
        removed: changes.removed.map((d) => d.id),
      });
      this.emit("devices", changes);
      this.emit("changed", this.caps);
    }
    return changes;
  }

  private async scanDevices(): Promise<Device[]> {
    try {
      const found = await discoverDevices(this.tree, this.config.discovery.deviceRules);
      this.scanned = found;
      return this.deviceOverlay ? this.deviceOverlay(found) : found;
    } catch (e) {
      this.logger.warn("device scan failed", { error: errorMessage(e) });
      return this.caps?.devices ?? [];
    }
  }

  private async refreshLive(): Promise<void> {
    try {
      // The runtime may come up after the agent (dockerd starting late at boot): advertise it when it does.
      if (!this.runtimeKnown && (await this.probeRuntime())) {
        await this.update();
        if (this.caps) this.emit("changed", this.caps);
        return;
      }
      await this.update();
    } catch (e) {
      this.logger.warn("capability refresh failed", { error: errorMessage(e) });
    }
  }

  private async update(): Promise<void> {
    this.caps = await this.build(this.caps?.devices ?? (await this.scanDevices()));
  }

  private async probeRuntime(): Promise<boolean> {
    if (this.runtime === undefined) return false;
    try {
      const [version, info] = await Promise.all([this.runtime.version(), this.runtime.info()]);
      this.runtimeSoftware = [{ name: version.runtime, version: version.version }];
      this.engineLabels = info.labels;
      if (this.config.discovery.diskPath === undefined && info.dataRoot !== undefined) {
        // The data root may not be visible when the agent itself runs in a container; keep dataDir then.
        const disk = await fingerprintDisk(info.dataRoot);
        if (disk.totalBytes > 0) this.diskPath = info.dataRoot;
      }
      this.runtimeKnown = true;
      return true;
    } catch (e) {
      this.logger.warn("container runtime not reachable; advertising without it", { error: errorMessage(e) });
      return false;
    }
  }

  private async build(devices: Device[]): Promise<NodeCapabilities> {
    const platform = fingerprintPlatform();
    const disk = await fingerprintDisk(this.diskPath, this.logger);
    const protocols = new Set(this.config.protocols);
    for (const d of devices) for (const p of d.protocols ?? []) protocols.add(p);
    return nodeCapabilitiesSchema.parse({
      schemaVersion: 1,
      nodeId: this.config.nodeId,
      hostname: platform.hostname,
      role: this.config.role,
      platform: {
        arch: platform.arch,
        ...(platform.variant === undefined ? {} : { variant: platform.variant }),
        os: platform.os,
        kernel: platform.kernel,
      },
      agentVersion: IOTFOG_VERSION,
      resources: { cpu: fingerprintCpu(), memory: fingerprintMemory(), disk },
      devices,
      software: [...this.runtimeSoftware, ...this.probedSoftware],
      protocols: [...protocols].sort(),
      labels: this.labels,
      engineLabels: this.engineLabels,
      hostPolicy: this.config.hostPolicy,
    });
  }
}
