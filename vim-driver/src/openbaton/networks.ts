import { z } from "zod";
import {
  IotFogError,
  fogNetworkName,
  parseFogNetworkName,
  parseWith,
  type NetworkAttachment,
  type ServiceSpec,
} from "@openiotfog/shared";
import type { DriverConfig } from "../config";
import type { DockerNetwork, NetworkParam } from "./catalogue";
import { onLiveNodes, type NodeCalls } from "./fleet/node-calls";
import { VIRTUAL_LINKS_LABEL, slugOf } from "./launch-translation";

const virtualLinksSchema = z.record(z.array(z.string()));

/**
 * The VIM's networks: one Docker network per virtual link on every node (per node, because in a lab several agents
 * may share one Docker engine); the fleet-wide id is `<namePrefix><slug>`. A fog network has exactly one subnet,
 * identified with the network itself.
 */
export class FogNetworks {
  constructor(
    private readonly calls: NodeCalls,
    private readonly config: DriverConfig["networks"],
  ) {}

  private dockerNetworkName(slug: string, nodeId: string): string {
    return fogNetworkName(this.config.namePrefix, slug, nodeId);
  }

  private extId(slug: string): string {
    return `${this.config.namePrefix}${slug}`;
  }

  async list(): Promise<DockerNetwork[]> {
    const perNode = await onLiveNodes(
      this.calls,
      "networks.list",
      async (_n, c) => (await c.call("networks.list", {})).networks,
    );
    const bySlug = new Map<string, DockerNetwork>();
    for (const { node, value } of perNode) {
      for (const net of value) {
        if (!net.managed) continue;
        const slug = parseFogNetworkName(this.config.namePrefix, net.name, node.nodeId);
        if (slug === undefined || bySlug.has(slug)) continue;
        bySlug.set(slug, {
          name: slug,
          extId: this.extId(slug),
          driver: net.driver,
          scope: "local",
          gateway: net.gateway ?? "",
          subnet: net.subnet ?? "",
        });
      }
    }
    return [...bySlug.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async create(network: NetworkParam): Promise<DockerNetwork> {
    const slug = slugOf(network.name);
    const params = {
      driver: this.config.driver,
      ...(network.subnet ? { subnet: network.subnet } : {}),
      labels: {},
    };
    const created = await onLiveNodes(this.calls, "networks.create", (node, c) =>
      c.call("networks.create", { ...params, name: this.dockerNetworkName(slug, node.nodeId) }),
    );
    const first = created[0]?.value.network;
    if (first === undefined) {
      throw new IotFogError(
        "UNAVAILABLE",
        `cannot create network ${network.name}: no live fog node accepted it`,
      );
    }
    return {
      name: network.name,
      extId: this.extId(slug),
      driver: first.driver,
      scope: "local",
      gateway: first.gateway ?? "",
      subnet: first.subnet ?? network.subnet ?? "",
    };
  }

  async delete(extId: string): Promise<boolean> {
    const prefix = this.config.namePrefix;
    const slug = extId.startsWith(prefix) ? extId.slice(prefix.length) : slugOf(extId);
    await onLiveNodes(this.calls, "networks.remove", (node, c) =>
      c.call("networks.remove", { name: this.dockerNetworkName(slug, node.nodeId) }),
    );
    return true;
  }

  async get(id: string): Promise<DockerNetwork> {
    const found = (await this.list()).find((n) => n.extId === id || n.name === id);
    if (!found) throw new IotFogError("NOT_FOUND", `no fog network with id ${id}`);
    return found;
  }

  /** The per-node Docker networks of the virtual links, created on the chosen node if it lacks them. */
  /**
   * The networks of a replica the fleet's reconciler starts on `nodeId` (placed again, re-created): for a VNFC its
   * virtual links' networks on that node with its DNS names (the links label of its spec), else its spec's own.
   */
  async forReplica(nodeId: string, spec: ServiceSpec): Promise<NetworkAttachment[]> {
    const links = spec.labels[VIRTUAL_LINKS_LABEL];
    if (links === undefined) return (spec.networks ?? []).map((name) => ({ name }));
    let raw: unknown = links;
    try {
      raw = JSON.parse(links);
    } catch {
      // not JSON: parseWith below says what it expected
    }
    const parsed = parseWith(virtualLinksSchema, raw, `label ${VIRTUAL_LINKS_LABEL} of ${spec.name}`);
    return this.attachments(nodeId, new Map(Object.entries(parsed)));
  }

  async attachments(nodeId: string, aliases: Map<string, string[]>): Promise<NetworkAttachment[]> {
    const client = this.calls.agents.client(nodeId);
    return Promise.all(
      [...aliases].map(async ([vl, names]) => {
        const name = this.dockerNetworkName(slugOf(vl), nodeId);
        await client.call("networks.create", { name, driver: this.config.driver, labels: {} });
        // The NFVO's hostname (and the VNFD's aliases): VNFCs on the same node and link reach each other by name.
        return { name, aliases: names };
      }),
    );
  }
}
