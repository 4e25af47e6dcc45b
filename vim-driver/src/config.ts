import { z } from "zod";

/** Driver configuration (YAML file + `IOTFOG_*` environment overrides). Documented in README.md. */
export const driverConfigSchema = z
  .object({
    mqtt: z
      .object({
        url: z.string().url().default("mqtt://127.0.0.1:1883"),
        username: z.string().optional(),
        password: z.string().optional(),
        topicPrefix: z.string().min(1).default("iotfog"),
      })
      .strict()
      .default({}),
    openbaton: z
      .object({
        /** Without Open Baton the driver still serves the fleet API, CLI and GUI. */
        enabled: z.boolean().default(false),
        brokerUrl: z.string().url().default("amqp://127.0.0.1:5672"),
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
      })
      .strict()
      .default({}),
    log: z
      .object({
        level: z.enum(["error", "warn", "info", "debug"]).default("info"),
        format: z.enum(["json", "pretty"]).default("json"),
      })
      .strict()
      .default({}),
  })
  .strict();

export type DriverConfigInput = z.input<typeof driverConfigSchema>;
export type DriverConfig = z.output<typeof driverConfigSchema>;
