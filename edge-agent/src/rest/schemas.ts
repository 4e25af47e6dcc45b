import { z } from "zod";
import { deploymentIdSchema, serviceSpecSchema, type NodeCapabilities } from "@openiotfog/shared";
import { agentEventTypes, type AgentEvent, type EventFilter } from "../monitoring/events";

/**
 * Bodies and query strings of the local REST API, and the interfaces the API reads the agent through (so the
 * app can be built and tested without Docker or MQTT).
 */

/** POST /api/v1/deployments: a blueprint (YAML text or its JSON form) or one service spec. */
export const restDeployBodySchema = z
  .object({
    /** Base of the deployment ids (`<id>-<service>-<replica>`); default derived from the blueprint name. */
    deploymentId: deploymentIdSchema.optional(),
    blueprint: z.union([z.string().min(1, "must not be empty"), z.record(z.unknown())]).optional(),
    service: serviceSpecSchema.optional(),
    /** Let this node hand services it cannot run to a peer. */
    forward: z.boolean().default(false),
    /** Most nodes a request may pass through when forwarded (default from the agent config). */
    hopLimit: z.number().int().min(1, "must be >= 1").max(16, "must be <= 16").optional(),
    /** Create only (false) or create and start (true). */
    start: z.boolean().default(true),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.blueprint === undefined) === (b.service === undefined)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["blueprint"],
        message: "give exactly one of blueprint (YAML text or object) and service (one service spec)",
      });
    }
  });
export type RestDeployBody = z.output<typeof restDeployBodySchema>;

/** DELETE /api/v1/deployments/:id */
export const restRemoveQuerySchema = z
  .object({ timeoutSeconds: z.coerce.number().int().min(0).max(600).default(10) })
  .strict();

const typeList = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== ""),
  )
  .pipe(
    z.array(
      z.string().refine(
        (t) => (agentEventTypes as readonly string[]).includes(t) || (t.endsWith(".") && /^[a-z.]+$/.test(t)),
        (t) => ({ message: `"${t}" is not an event type or a prefix such as container.` }),
      ),
    ),
  );

/** GET /api/v1/events and /api/v1/events/stream */
export const restEventsQuerySchema = z
  .object({
    after: z.coerce.number().int().nonnegative("must be an event seq").optional(),
    types: typeList.optional(),
    deploymentId: z.string().min(1).optional(),
    limit: z.coerce.number().int().min(1, "must be >= 1").max(10000, "must be <= 10000").optional(),
    /** EventSource cannot send headers; the stream also accepts the token here. */
    access_token: z.string().optional(),
  })
  .strict();

export interface DeploymentView {
  deploymentId: string;
  service: string;
  state: string;
  /** `degraded` when a device it uses has been detached; `ok` otherwise. */
  health: "ok" | "degraded";
  /** Why it is degraded (the missing devices). */
  missingDevices?: string[];
  [key: string]: unknown;
}

export interface RestDeployOutcome {
  deploymentId: string;
  service: string;
  replica: number;
  /** The node the service runs on: this one, or the peer it was forwarded to. */
  nodeId: string;
  forwarded: boolean;
  /** Nodes the request passed through, in order, ending with nodeId. */
  route: string[];
  created: boolean;
  state: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/** What the REST API reads and drives; the agent's composition root implements it over its components. */
export interface RestBackend {
  readonly nodeId: string;
  status(): Promise<Record<string, unknown>>;
  readiness(): Promise<ReadinessReport>;
  capabilities(): Promise<NodeCapabilities>;
  containers(): Promise<unknown[]>;
  deployments(): Promise<DeploymentView[]>;
  /** Deploys every service of the blueprint (or the one service); throws IotFogError on refusal. */
  deploy(body: RestDeployBody): Promise<RestDeployOutcome[]>;
  remove(deploymentId: string, timeoutSeconds: number): Promise<{ deploymentId: string; removed: boolean }>;
  events: {
    history(filter: EventFilter): AgentEvent[];
    subscribe(listener: (event: AgentEvent) => void): () => void;
  };
}
