import os from "node:os";
import path from "node:path";
import { z } from "zod";
import {
  DEFAULT_LIMITS,
  DEFAULT_MAX_ATTACHMENT_BYTES,
  DEFAULT_MAX_ENVELOPE_BYTES,
  compileLinearRegExp,
  errorMessage,
  hexIdSchema,
  hostPolicySchema,
  logConfigSchema,
  mqttConnectionFields,
  refineMqttConnection,
} from "@openiotfog/shared";
import { forwardingConfigSchema } from "./forwarding/config";
import { hardwareConfigSchema } from "./hardware/config";
import { agentMetricsConfigSchema } from "./metrics/config";
import { monitoringConfigSchema } from "./monitoring/config";
import { restConfigSchema } from "./rest/config";
import { agentSecurityConfigSchema, isLoopbackAddress } from "./security/config";

/** Agent configuration (YAML file + `IOTFOG_*` environment overrides). Reference: docs/agent.md. */

const ms = (min: number, fallback: number) =>
  z.number().int().min(min, `must be >= ${min} ms`).default(fallback);
const zmqAddress = z
  .string()
  .regex(
    /^(tcp|ipc):\/\/.+$/,
    "must be a ZeroMQ address such as tcp://0.0.0.0:5555 or ipc:///run/iotfog.sock",
  );

/** Maps extra hardware to a device class without a release (e.g. a vendor's ZigBee stick on a generic UART chip). */
export const deviceRuleSchema = z
  .object({
    vendorId: hexIdSchema,
    productId: hexIdSchema.optional(),
    /**
     * Case-insensitive regular expression (RE2 syntax, linear time) on "<manufacturer> <product>" as the USB
     * device reports them.
     */
    match: z
      .string()
      .superRefine((s, ctx) => {
        try {
          compileLinearRegExp(s, { ignoreCase: true });
        } catch (e) {
          ctx.addIssue({ code: "custom", message: errorMessage(e) });
        }
      })
      .optional(),
    class: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be a lower-case class name such as zigbee"),
    protocols: z.array(z.string().min(1)).default([]),
    name: z.string().optional(),
  })
  .strict();
export type DeviceRule = z.infer<typeof deviceRuleSchema>;

/** Software the operator wants advertised: a fixed version, a command whose output holds it, or a file. */
export const softwareProbeSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().min(1).optional(),
    command: z.array(z.string().min(1)).min(1).optional(),
    file: z.string().min(1).optional(),
    /** Regular expression whose first group (or whole match) is the version; default: the first x.y[.z]. */
    pattern: z.string().optional(),
  })
  .strict()
  .refine(
    (s) => [s.version, s.command, s.file].filter((x) => x !== undefined).length === 1,
    "needs exactly one of version, command, file",
  );
export type SoftwareProbe = z.infer<typeof softwareProbeSchema>;

export const agentConfigSchema = z
  .object({
    nodeId: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "must be 1-63 letters, digits, '.', '_' or '-'")
      .default(() => os.hostname()),
    /** Where the agent keeps what it was asked to run (survives reboots); default ./.iotfog/agent-<nodeId>. */
    dataDir: z.string().min(1).optional(),
    role: z.enum(["worker", "manager"]).default("worker"),
    /**
     * The broker. With security on and no username here, the agent logs in with the credentials from its
     * enrollment over mqtts:// (checked against the fleet CA unless caFile says otherwise) or on loopback.
     */
    mqtt: z
      .object({
        ...mqttConnectionFields,
        topicPrefix: z.string().min(1).default("iotfog"),
        /** The broker publishes our last-will after 1.5 x keepalive of silence: 4 s → offline within 6 s. */
        keepaliveSeconds: z.number().int().min(1).max(600).default(4),
        connectTimeoutMs: ms(100, 5000),
        reconnectPeriodMs: ms(100, 1000),
      })
      .strict()
      .superRefine(refineMqttConnection)
      .default({}),
    zmq: z
      .object({
        /** ROUTER address the command endpoint binds. */
        bind: zmqAddress.default("tcp://0.0.0.0:5555"),
        /** Address published in presence for clients; default: the bound address with a wildcard host replaced. */
        advertise: zmqAddress.optional(),
        maxEnvelopeBytes: z.number().int().min(1024).default(DEFAULT_MAX_ENVELOPE_BYTES),
        maxAttachmentBytes: z.number().int().min(1024).default(DEFAULT_MAX_ATTACHMENT_BYTES),
        /** How long a reply is kept for a retry with the same request id. */
        replyCacheMs: ms(0, 120000),
        /** Slack for the clients' clocks when judging a request's deadline. */
        clockSkewToleranceMs: ms(0, 2000),
        /** Requests handled at once; beyond it a request gets a retryable UNAVAILABLE reply (docs/security.md). */
        maxInFlight: z.number().int().min(1).default(DEFAULT_LIMITS.inFlightCommands),
      })
      .strict()
      .default({}),
    presence: z
      .object({
        /** Heartbeat period; peers expire a node after expiryMs without one. 2 s / 6 s: a dead node shows in < 10 s. */
        heartbeatIntervalMs: ms(100, 2000),
        expiryMs: ms(300, 6000),
      })
      .strict()
      .default({})
      .refine((p) => p.expiryMs > p.heartbeatIntervalMs, "expiryMs must be longer than heartbeatIntervalMs"),
    discovery: z
      .object({
        sysRoot: z.string().min(1).default("/sys"),
        devRoot: z.string().min(1).default("/dev"),
        /** How often live values (free memory, disk, load) are refreshed. */
        refreshIntervalMs: ms(100, 10000),
        /** How often sysfs and /dev are rescanned for plugged or unplugged devices. */
        deviceScanIntervalMs: ms(100, 2000),
        /** Filesystem whose size is advertised as disk; default: the container runtime's data root. */
        diskPath: z.string().min(1).optional(),
        deviceRules: z.array(deviceRuleSchema).default([]),
      })
      .strict()
      .default({}),
    software: z.array(softwareProbeSchema).default([]),
    /** Protocols this node speaks (mqtt, opcua, modbus-tcp, ...); device protocols (zigbee) are added by discovery. */
    protocols: z.array(z.string().min(1)).default([]),
    runtime: z
      .object({
        name: z.string().min(1).default("docker"),
        docker: z
          .object({ socketPath: z.string().min(1).default("/var/run/docker.sock") })
          .strict()
          .default({}),
        /** Try a registry pull when a deploy names an image this node does not have. */
        pullMissingImages: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /** Desired-state reconciliation: re-create missing containers, start ones left created. */
    reconcileIntervalMs: ms(0, 15000),
    admission: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .default({}),
    /** What containers may touch on this node beyond their own files (docs/security.md); least privilege by default. */
    hostPolicy: hostPolicySchema.default({}),
    log: logConfigSchema,
    labels: z.record(z.string()).default({}),
    /** Hardware event endpoint, monitoring outlets, local REST API, forwarding: docs/agent-events.md. */
    hardware: hardwareConfigSchema,
    monitoring: monitoringConfigSchema,
    rest: restConfigSchema,
    forwarding: forwardingConfigSchema,
    /** Prometheus metrics on the REST listener and the container usage sampler: docs/metrics.md. */
    metrics: agentMetricsConfigSchema,
    /** Fleet security: CurveZMQ on every ZeroMQ socket (docs/security.md). */
    security: agentSecurityConfigSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    const binds: Array<[string[], string]> = [
      [["zmq", "bind"], c.zmq.bind],
      [["monitoring", "pubBind"], c.monitoring.pubBind],
      [["hardware", "bind"], c.hardware.bind],
    ];
    for (const [where, address] of binds) {
      if (isLoopbackAddress(address)) continue;
      // The hardware endpoint stays plain on loopback (local listeners); on the LAN it needs CURVE like the rest.
      if (c.security.mode === "insecure") {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: where,
          message: `${address} is not a loopback address: security.mode insecure is refused on a network bind (use CurveZMQ, the default)`,
        });
      }
    }
  });

export type AgentConfigInput = z.input<typeof agentConfigSchema>;
export type AgentConfig = z.output<typeof agentConfigSchema> & {
  dataDir: string;
  security: { mode: "curve" | "insecure"; dir: string };
};

/** Fills in values that depend on other fields. */
export function resolveAgentConfig(parsed: z.output<typeof agentConfigSchema>): AgentConfig {
  const dataDir = parsed.dataDir ?? path.resolve(".iotfog", `agent-${parsed.nodeId}`);
  return {
    ...parsed,
    dataDir,
    security: { mode: parsed.security.mode, dir: parsed.security.dir ?? path.join(dataDir, "security") },
  };
}
