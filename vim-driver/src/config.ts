import { z } from "zod";
import { logConfigSchema, mqttConnectionFields, refineMqttConnection } from "@openiotfog/shared";
import { apiConfigSchema } from "./api/config";
import { driverMetricsConfigSchema } from "./metrics/config";
import { vnfmConfigSchema } from "./vnfm/config";

const positiveMs = z.number().int().positive("must be > 0 (milliseconds)");

/** A named resource profile the driver offers as an Open Baton `DeploymentFlavour` (`listFlavors`). */
export const flavorSchema = z
  .object({
    /** `flavour_key`, e.g. `m1.small`; also accepted as the `flavor` of launchInstanceAndWait. */
    name: z.string().min(1, "must not be empty"),
    vcpus: z.number().int().nonnegative().default(0),
    /** MiB, as Open Baton counts RAM. 0 = no reservation. */
    ramMb: z.number().int().nonnegative().default(0),
    /** GiB, as Open Baton counts disk. 0 = no reservation. */
    diskGb: z.number().int().nonnegative().default(0),
  })
  .strict();
export type Flavor = z.infer<typeof flavorSchema>;

/** Driver configuration (YAML file + `IOTFOG_*` environment overrides). Documented in docs/driver.md. */
export const driverConfigSchema = z
  .object({
    /**
     * The broker. With security on and no username here, the driver logs in with the fleet's driver credentials
     * over mqtts:// (checked against the fleet CA unless caFile says otherwise) or on loopback.
     */
    mqtt: z
      .object({
        ...mqttConnectionFields,
        topicPrefix: z.string().min(1).default("iotfog"),
      })
      .strict()
      .superRefine(refineMqttConnection)
      .default({}),
    openbaton: z
      .object({
        /** Without Open Baton the driver still serves the fleet API, CLI and GUI. */
        enabled: z.boolean().default(false),
        /** `amqp://host:5672`, or `amqps://host:5671` for TLS (checked against `caFile`, else the system's CAs). */
        brokerUrl: z.string().url().default("amqp://127.0.0.1:5672"),
        /** PEM file of the CA that signed the broker's certificate (docs/security.md, "Transport security"). */
        caFile: z.string().min(1).optional(),
        vhost: z.string().default("/"),
        registrationUser: z.string().default("openbaton-manager-user"),
        registrationPassword: z.string().default("openbaton"),
        type: z
          .string()
          .regex(/^[a-z0-9-]+$/)
          .default("docker"),
        name: z
          .string()
          .regex(/^[a-z0-9-]+$/)
          .default("fog"),
        /**
         * RabbitMQ management API, used only to check that the NFVO can see our queue (it looks plugins up
         * there). Leave unset to skip the check.
         */
        managementUrl: z.string().url().optional(),
        /** Requests served at once (the NFVO runs several launchInstanceAndWait calls in parallel). */
        workers: z.number().int().min(1).max(256).default(8),
        /** How long one registration attempt waits for the NFVO's answer before retrying. */
        registrationTimeoutMs: positiveMs.default(5000),
        /** Backoff between registration / reconnect attempts. */
        retryInitialMs: positiveMs.default(500),
        retryMaxMs: positiveMs.default(15000),
        /** AMQP heartbeat in seconds (the NFVO itself asks for 60). */
        heartbeatSeconds: z.number().int().nonnegative().default(30),
        /**
         * How often the driver checks that the NFVO still consumes `nfvo.manager.handling`; when the NFVO went
         * away and came back (its default database forgets plugins), the driver registers again. 0 disables.
         */
        nfvoWatchMs: z.number().int().nonnegative().default(5000),
        /** Grace for in-flight requests on shutdown before the connection closes. */
        shutdownGraceMs: positiveMs.default(10000),
      })
      .strict()
      .superRefine((ob, ctx) => {
        // A CA given for a plain amqp:// URL would look like TLS and be none.
        if (ob.caFile !== undefined && !ob.brokerUrl.startsWith("amqps://")) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ["brokerUrl"],
            message: "must be an amqps:// URL when caFile is set (TLS to RabbitMQ)",
          });
        }
      })
      .default({}),
    /** Fleet view: which nodes are alive, from the agents' MQTT presence and heartbeats. */
    fleet: z
      .object({
        /** A node with no presence / heartbeat for this long is treated as offline. */
        nodeExpiryMs: positiveMs.default(10000),
        /** Containers the operator allows per node; getQuota reports the sum over live nodes as `instances`. */
        maxInstancesPerNode: z.number().int().positive().default(50),
        /**
         * Where the driver keeps declared state (deployments, placements, owed removals) across restarts; default
         * `.iotfog/fleet-<mqtt.topicPrefix>.json` under the working directory (docs/self-healing.md).
         */
        stateFile: z.string().min(1, "must not be empty").optional(),
        /** How often the reconciler compares declared with observed state; node events start a pass at once. */
        reconcileIntervalMs: positiveMs.default(2000),
      })
      .strict()
      .default({}),
    /** Talking to agents over ZeroMQ. */
    agents: z
      .object({
        /** Deadline of control calls (ping, list, inspect, networks...). */
        requestTimeoutMs: positiveMs.default(5000),
        /** Deadline of a deploy (create + start, image already present). */
        deployTimeoutMs: positiveMs.default(60000),
        /** Deadline of copying an image between nodes (export + import). */
        imageTransferTimeoutMs: positiveMs.default(120000),
        /** Attempts per call; retries reuse the request id, so agents never run a command twice. */
        attempts: z.number().int().min(1).max(10).default(3),
      })
      .strict()
      .default({}),
    /** launchInstanceAndWait must finish inside the NFVO's plugin timeout (300 s by default). */
    launchTimeoutMs: positiveMs.default(240000),
    /** Named resource profiles offered to Open Baton. */
    flavors: z
      .array(flavorSchema)
      .default([{ name: "m1.small", vcpus: 0, ramMb: 0, diskGb: 0 }])
      .refine((list) => new Set(list.map((f) => f.name)).size === list.length, "flavor names must be unique"),
    /** Fog networks created for Open Baton virtual links (createNetwork). */
    networks: z
      .object({
        /**
         * Docker driver of the per-node network of a virtual link. Addresses in `Server.ips` are the node's
         * address (from its command endpoint): services on other nodes reach a VNFC through its published ports.
         */
        driver: z.enum(["bridge"]).default("bridge"),
        /** Name prefix of the Docker networks the driver creates, so it never touches others. */
        namePrefix: z
          .string()
          .regex(/^[a-z0-9][a-z0-9_-]*$/)
          .default("iotfog-"),
      })
      .strict()
      .default({}),
    /** The fog VNF manager (vim-driver/src/vnfm), run by this process when enabled. */
    vnfm: vnfmConfigSchema.default({}),
    /** The fleet REST API and web GUI (vim-driver/src/api, docs/operator.md). */
    api: apiConfigSchema,
    /** Prometheus metrics (docs/metrics.md). */
    metrics: driverMetricsConfigSchema,
    /** Fleet identity and CurveZMQ (docs/security.md). */
    security: z
      .object({
        /** `curve` (default): agents are reached over CurveZMQ with their enrolled keys. `insecure`: plain ZeroMQ. */
        mode: z.enum(["curve", "insecure"]).default("curve"),
        /** The fleet key pair, enrolled nodes and join tokens (mode-600 files). */
        dir: z.string().min(1).default(".iotfog/fleet"),
        /**
         * A Mosquitto serving the fleet (`iotfog fleet mqtt-config`): the driver rewrites `passwd` and `acl` in
         * `dir` after every enrollment and revocation and sends SIGHUP to the pid in `pidFile` (docs/security.md).
         */
        mosquitto: z
          .object({ dir: z.string().min(1), pidFile: z.string().min(1).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    log: logConfigSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    if (
      c.security.mode === "insecure" &&
      c.api.enabled &&
      !/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(c.api.host)
    ) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["api", "host"],
        message: `${c.api.host} is not a loopback address: security.mode insecure is refused on a network bind`,
      });
    }
    if (c.openbaton.retryMaxMs < c.openbaton.retryInitialMs) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["openbaton", "retryMaxMs"],
        message: "must be >= openbaton.retryInitialMs",
      });
    }
  });

export type DriverConfigInput = z.input<typeof driverConfigSchema>;
export type DriverConfig = z.output<typeof driverConfigSchema>;
