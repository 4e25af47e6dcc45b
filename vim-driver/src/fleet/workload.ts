import {
  IotFogError,
  orderByDependencies,
  parseBlueprint,
  parseWith,
  serviceSpecSchema,
  type ServiceSpec,
} from "@openiotfog/shared";
import type { WorkloadRequest } from "./types";

/** A resolved request: the deployment id and its services in dependency order. */
export interface ParsedWorkload {
  name: string;
  services: ServiceSpec[];
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Agent-side ids of replicas deployed here (`<deployment>.<service>.<replica>`): built and parsed in shared/ids. */
export { agentDeploymentId, deploymentOfAgentId } from "@openiotfog/shared";

/** Resolves a request into a name and validated services in dependency order. */
export function resolveWorkload(req: WorkloadRequest): ParsedWorkload {
  let parsed: ParsedWorkload;
  if (req.blueprint !== undefined) {
    parsed = parseBlueprint(req.blueprint, "blueprint");
  } else if (req.services !== undefined) {
    const services = req.services.map((s, i) =>
      parseWith(serviceSpecSchema, s, `services[${i}]`, "BAD_REQUEST"),
    );
    parsed = { name: req.name ?? services[0]?.name ?? "", services: orderByDependencies(services) };
  } else {
    throw new IotFogError("BAD_REQUEST", `field "blueprint": give a blueprint (YAML text) or "services"`);
  }
  const name = req.name ?? parsed.name;
  if (!NAME.test(name)) {
    throw new IotFogError(
      "BAD_REQUEST",
      `field "name": "${name}" must be lower-case letters, digits and '-', at most 63 characters`,
    );
  }
  if (parsed.services.length === 0) {
    throw new IotFogError("BAD_REQUEST", `field "services": needs at least one service`);
  }
  const seen = new Set<string>();
  for (const s of parsed.services) {
    if (seen.has(s.name)) {
      throw new IotFogError("BAD_REQUEST", `field "services": service "${s.name}" appears twice`);
    }
    seen.add(s.name);
  }
  return { name, services: parsed.services };
}
