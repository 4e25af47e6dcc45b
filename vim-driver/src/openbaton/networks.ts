import { IotFogError, fogNetworkName, parseFogNetworkName, type NetworkAttachment } from "@openiotfog/shared";
import type { DriverConfig } from "../config";
import type { DockerNetwork, NetworkParam } from "./catalogue";
import { onLiveNodes, type NodeCalls } from "./fleet/node-calls";
import { slugOf } from "./launch-translation";

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
