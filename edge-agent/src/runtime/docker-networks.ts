import type Docker from "dockerode";
import { IotFogError, type Logger, type NetworkInfo } from "@openiotfog/shared";
import { dockerError, type DockerApiError } from "./docker-api";
import { NODE_LABEL, type CreateNetworkOptions } from "./runtime";

/** The Docker runtime's networks: those this node created carry its label and are the only ones it removes. */
export class DockerNetworks {
  constructor(
    private readonly docker: Docker,
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {}

  private toNetworkInfo(n: Docker.NetworkInspectInfo): NetworkInfo {
    const config = n.IPAM?.Config?.[0];
    const info: NetworkInfo = {
      id: n.Id,
      name: n.Name,
      driver: n.Driver,
      managed: n.Labels?.[NODE_LABEL] === this.nodeId,
    };
    if (config?.Subnet) info.subnet = config.Subnet;
    if (config?.Gateway) info.gateway = config.Gateway;
    return info;
  }

  async list(): Promise<NetworkInfo[]> {
    try {
      const list = await this.docker.listNetworks();
      return list.map((n) => this.toNetworkInfo(n));
    } catch (e) {
      throw dockerError(e, "list networks");
    }
  }

  async create(opts: CreateNetworkOptions): Promise<{ network: NetworkInfo; created: boolean }> {
    const existing = (await this.list()).find((n) => n.name === opts.name);
    if (existing !== undefined) {
      if (!existing.managed) {
        throw new IotFogError(
          "CONFLICT",
          `network ${opts.name} exists and is not managed by node ${this.nodeId}`,
        );
      }
      return { network: existing, created: false };
    }
    try {
      const ipam =
        opts.subnet !== undefined
          ? {
              IPAM: {
                Driver: "default",
                Config: [{ Subnet: opts.subnet, ...(opts.gateway ? { Gateway: opts.gateway } : {}) }],
              },
            }
          : {};
      const network = await this.docker.createNetwork({
        Name: opts.name,
        Driver: opts.driver,
        CheckDuplicate: true,
        Labels: { ...opts.labels, [NODE_LABEL]: this.nodeId },
        ...ipam,
      });
      const info = await network.inspect();
      this.logger.info("network created", { name: opts.name, subnet: opts.subnet });
      return { network: this.toNetworkInfo(info), created: true };
    } catch (e) {
      throw dockerError(e, `create network ${opts.name}`);
    }
  }

  async remove(name: string): Promise<boolean> {
    const existing = (await this.list()).find((n) => n.name === name || n.id === name);
    if (existing === undefined) return false;
    if (!existing.managed) {
      throw new IotFogError(
        "CONFLICT",
        `network ${name} is not managed by node ${this.nodeId}; refusing to remove it`,
      );
    }
    try {
      await this.docker.getNetwork(existing.id).remove();
      return true;
    } catch (e) {
      if ((e as DockerApiError).statusCode === 404) return false;
      throw dockerError(e, `remove network ${name}`);
    }
  }
}
