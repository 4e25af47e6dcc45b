import {
  nodeCapabilitiesSchema,
  serviceSpecSchema,
  type Allocation,
  type Device,
  type NodeCapabilitiesInput,
  type NodeState,
  type ServiceSpec,
  type ServiceSpecInput,
} from "@openiotfog/shared";

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

type NodeOverrides = Partial<Omit<NodeCapabilitiesInput, "resources">> & {
  memoryFree?: number;
  memoryTotal?: number;
  cores?: number;
  mhz?: number;
  diskFree?: number;
  online?: boolean;
  allocations?: Array<Partial<Allocation> & { service: string }>;
};

/** A Raspberry-Pi-like node (4 cores, 4GiB, 32GiB disk) with overrides. */
export function node(id: string, o: NodeOverrides = {}): NodeState {
  const { memoryFree, memoryTotal, cores, mhz, diskFree, online, allocations, ...caps } = o;
  const capabilities = nodeCapabilitiesSchema.parse({
    schemaVersion: 1,
    nodeId: id,
    hostname: id,
    platform: { arch: "arm64", os: "linux", kernel: "6.1.0-rpi7-rpi-v8" },
    agentVersion: "0.1.0",
    resources: {
      cpu: { cores: cores ?? 4, ...(mhz === undefined ? {} : { mhz }) },
      memory: { totalBytes: memoryTotal ?? 4 * GiB, freeBytes: memoryFree ?? 3 * GiB },
      disk: { totalBytes: 32 * GiB, freeBytes: diskFree ?? 20 * GiB },
    },
    ...caps,
  });
  return {
    capabilities,
    online: online ?? true,
    allocations: (allocations ?? []).map((a) => ({ state: "placed", resources: {}, devices: [], ...a })),
  };
}

export function zigbeeDongle(id = "zb-1", extra: Partial<Device> = {}): Device {
  return {
    id,
    class: "zigbee",
    vendorId: "10c4",
    productId: "ea60",
    vendor: "Silicon Labs",
    product: "Sonoff Zigbee 3.0 USB Dongle Plus",
    serial: `serial-${id}`,
    path: "/dev/ttyUSB0",
    stablePath: `/dev/serial/by-id/usb-ITead_Sonoff_${id}-if00-port0`,
    protocols: ["zigbee"],
    ...extra,
  };
}

export function spec(input: Partial<ServiceSpecInput> = {}): ServiceSpec {
  return serviceSpecSchema.parse({ name: "svc", image: "openiotfog/testbox:latest", ...input });
}
