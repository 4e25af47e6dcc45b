import {
  IotFogError,
  hostNameSchema,
  parseConstraints,
  parseWith,
  serviceSpecSchema,
  type ConstraintInput,
  type ServiceSpec,
} from "@openiotfog/shared";
import type { Flavor } from "../config";
import type { DeploymentFlavour, VimInstance } from "./catalogue";
import { constraintsFromMetadata } from "./fog-spec";
import type { LaunchRequest } from "./methods";

/**
 * Launch translation, pure: what the NFVO asks for (launchInstanceAndWait's hostname, flavour, connection points
 * and their metadata, the VIM instance's metadata, the fog spec) → the ServiceSpec the fleet places, and the DNS
 * names the VNFC answers to on each virtual link. Also the flavours the driver offers and the names it gives.
 */

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** One VNFC to launch: its ServiceSpec, and its DNS names per virtual link (its hostname, plus `aliases`). */
export interface TranslatedLaunch {
  spec: ServiceSpec;
  aliases: Map<string, string[]>;
}

export function toDeploymentFlavour(f: Flavor): DeploymentFlavour {
  return { flavour_key: f.name, extId: f.name, ram: f.ramMb, disk: f.diskGb, vcpus: f.vcpus };
}

/** The configured flavour a launch names; "" means the first one (or an empty profile when none is configured). */
export function flavourFor(
  flavors: readonly Flavor[],
  flavor: string,
): { flavour: DeploymentFlavour; flavor?: Flavor } {
  if (flavor === "") {
    const first = flavors[0];
    return first
      ? { flavour: toDeploymentFlavour(first) }
      : { flavour: toDeploymentFlavour({ name: "", vcpus: 0, ramMb: 0, diskGb: 0 }) };
  }
  const found = flavors.find((f) => f.name === flavor);
  if (!found) {
    throw new IotFogError(
      "BAD_REQUEST",
      `unknown flavor "${flavor}"; this driver offers ${flavors.map((f) => f.name).join(", ")}`,
    );
  }
  return { flavour: toDeploymentFlavour(found), flavor: found };
}

/** addFlavor / updateFlavor: only a flavour the configuration already has is accepted (and echoed). */
export function configuredFlavour(
  flavors: readonly Flavor[],
  flavour: Record<string, unknown>,
  op: string,
): DeploymentFlavour {
  const key = flavour.flavour_key ?? flavour.extId;
  const found = flavors.find((f) => f.name === key);
  if (!found) {
    throw new IotFogError(
      "UNSUPPORTED",
      `${op}(${String(key)}): flavors are resource profiles in the driver configuration (flavors:), not created over Open Baton`,
    );
  }
  return toDeploymentFlavour(found);
}

/**
 * Builds the ServiceSpec of one VNFC from the request, the VIM metadata, CP metadata and the fog spec, and the DNS
 * names it answers to on each of its virtual links (its hostname, plus the fog spec's `aliases`).
 */
export function translateLaunch(
  flavors: readonly Flavor[],
  vim: VimInstance,
  req: LaunchRequest,
  imageTag: string,
): TranslatedLaunch {
  const fog = req.fog;
  const constraints: ConstraintInput[] = [...constraintsFromMetadata(vim.metadata)];
  for (const cp of req.networks) constraints.push(...constraintsFromMetadata(cp.metadata));
  constraints.push(...(fog?.constraints ?? []));
  const constraintSet = parseConstraints(constraints, `constraints of ${req.hostname}`);
  const { flavor } = flavourFor(flavors, req.flavor);
  const resources: ServiceSpec["resources"] = {};
  if (flavor && flavor.vcpus > 0) resources.cpus = flavor.vcpus;
  if (flavor && flavor.ramMb > 0) resources.memoryBytes = flavor.ramMb * MIB;
  if (flavor && flavor.diskGb > 0) resources.diskBytes = flavor.diskGb * GIB;
  Object.assign(resources, fog?.resources ?? {});
  const virtualLinks = [...new Set(req.networks.map((cp) => cp.virtual_link_reference))];
  const aliases = new Map<string, string[]>(virtualLinks.map((vl) => [vl, [req.hostname]]));
  for (const [vl, names] of Object.entries(fog?.aliases ?? {})) {
    const own = aliases.get(vl);
    if (own === undefined) {
      throw new IotFogError(
        "BAD_REQUEST",
        `userdata fog spec: field "aliases.${vl}": "${vl}" is not a virtual link of ${req.hostname} ` +
          `(its links: ${virtualLinks.join(", ") || "none"})`,
      );
    }
    own.push(...names.filter((n) => !own.includes(n)));
  }
  const spec = parseWith(
    serviceSpecSchema,
    {
      name: serviceName(req.hostname),
      image: imageTag,
      ...(fog?.command ? { command: fog.command } : {}),
      env: { ...(fog?.env ?? {}) },
      ports: fog?.ports ?? [],
      volumes: fog?.volumes ?? [],
      devices: fog?.devices ?? [],
      resources,
      restart: fog?.restart ?? "unless-stopped",
      constraints: constraintSet,
      labels: {
        ...(fog?.labels ?? {}),
        "org.openiotfog.openbaton.hostname": req.hostname,
        // Declared with the spec, so the fleet attaches a VNFC it places again to the same links (FogNetworks).
        [VIRTUAL_LINKS_LABEL]: JSON.stringify(Object.fromEntries(aliases)),
      },
      ...(fog?.preferences === undefined ? {} : { preferences: fog.preferences }),
      // By default the NFVO heals a VNFC of a lost node (HEAL through the VNFM) and the fleet waits for the node;
      // `replace` comes from the fog VNFM with autoHeal, which tells the NFVO of the move (UPDATEVNFR).
      failover: { onNodeLoss: fog?.onNodeLoss ?? "keep" },
      // Inside the container, `hostname` says what the NFVO calls the VNFC (as Server.hostName does).
      hostname: fog?.hostname ?? containerHostName(req.hostname),
      ...(fog !== undefined && fog.dns.length > 0 ? { dns: fog.dns } : {}),
    },
    `service spec of ${req.hostname}`,
    "BAD_REQUEST",
  );
  return { spec, aliases };
}

/** A VNFC's virtual links with their DNS names, `{"<link>": ["<hostname>", ...]}`, as a label of its spec. */
export const VIRTUAL_LINKS_LABEL = "org.openiotfog.openbaton.links";

/** Docker-safe, reversible for ordinary virtual-link names (letters, digits, '-', '_'). */
export function slugOf(name: string): string {
  const slug = name.replace(/[^a-zA-Z0-9_-]/g, "_").replace(/^[^a-zA-Z0-9]+/, "");
  return (slug === "" ? "vl" : slug).slice(0, 40);
}

/** The NFVO's hostname when it is a valid host name (it is `<vnfr name>-<n>`), else its service-name form. */
function containerHostName(hostname: string): string {
  return hostNameSchema.safeParse(hostname).success ? hostname : serviceName(hostname);
}

/** A DNS-label service name from the NFVO hostname (`<vnfr>-<random>`), which usually is one already. */
export function serviceName(hostname: string): string {
  const s = hostname
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return s === "" ? "vnfc" : s;
}
