import { createHash, randomBytes } from "node:crypto";
import {
  IotFogError,
  copyImage,
  errorMessage,
  parseConstraints,
  parseWith,
  place,
  serviceSpecSchema,
  sleep,
  type AgentClient,
  type Allocation,
  type ConstraintInput,
  type DeploymentInfo,
  type Logger,
  type NodeState,
  type ServiceSpec,
} from "@openiotfog/shared";
import type { AgentPool } from "../fleet/agents";
import type { DriverConfig, Flavor } from "../config";
import type {
  DeploymentFlavour,
  DockerImage,
  DockerNetwork,
  NetworkParam,
  Quota,
  Server,
  VimInstance,
} from "./catalogue";
import { serverStatus } from "./catalogue";
import { DriverError } from "./dispatcher";
import { constraintsFromMetadata, parseFogSpec } from "./fog-spec";
import type { LiveFleet, LiveNode } from "./fleet/live-fleet";
import type { LaunchRequest, VimOperations } from "./methods";

type Obj = Record<string, unknown>;

/** What the driver remembers of a server it launched (hostname and virtual links are not on the agent). */
interface PlacedServer {
  extId: string;
  nodeId: string;
  deploymentId: string;
  hostname: string;
  image: { extId: string; name: string };
  flavor: DeploymentFlavour;
  virtualLinks: string[];
  floatingLinks: string[];
  created: string;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/**
 * The VIM operations over the fleet: inventory from the live nodes, placement with the shared engine, and
 * deployment through the chosen node's agent. Containers are named by deployment ids that start with
 * `ob.<type>.<name>.`, so this driver lists and deletes only what it placed.
 */
export class VimService implements VimOperations {
  private readonly placed = new Map<string, PlacedServer>();
  /** Reservations of launches in flight, so concurrent launches see each other (placement accounting). */
  private readonly reservations = new Map<string, { nodeId: string; allocation: Allocation }>();
  readonly deploymentPrefix: string;

  constructor(
    private readonly config: DriverConfig,
    private readonly fleet: LiveFleet,
    private readonly agents: AgentPool,
    private readonly logger: Logger,
  ) {
    this.deploymentPrefix = `ob.${config.openbaton.type}.${config.openbaton.name}.`;
  }

  // ---------------------------------------------------------------------------------------------- inventory

  async refresh(vim: VimInstance): Promise<Obj> {
    const [images, networks] = await Promise.all([this.listImages(vim), this.listNetworks(vim)]);
    // Echo everything the NFVO sent (id, hbVersion, projectId, type, name, location, metadata...).
    return { ...vim, images, networks };
  }

  /** Runs `fn` on every live node; failures are logged and left out (a dead node must not fail refresh). */
  private async onLiveNodes<T>(
    what: string,
    fn: (node: LiveNode, client: AgentClient) => Promise<T>,
  ): Promise<Array<{ node: LiveNode; value: T }>> {
    const nodes = this.fleet.live();
    const settled = await Promise.allSettled(nodes.map((n) => fn(n, this.agents.client(n.nodeId))));
    const out: Array<{ node: LiveNode; value: T }> = [];
    settled.forEach((r, i) => {
      const node = nodes[i] as LiveNode;
      if (r.status === "fulfilled") out.push({ node, value: r.value });
      else
        this.logger.warn(`${what} failed on a node`, { nodeId: node.nodeId, error: errorMessage(r.reason) });
    });
    return out;
  }

  /** Images present on live nodes, one entry per image id (the same content has the same id everywhere). */
  async listImages(_vim?: VimInstance): Promise<DockerImage[]> {
    const perNode = await this.onLiveNodes(
      "images.list",
      async (_n, c) => (await c.call("images.list", {})).images,
    );
    const byId = new Map<string, { tags: Set<string>; created: number }>();
    for (const { value } of perNode) {
      for (const img of value) {
        if (img.tags.length === 0) continue; // the NFVO matches images by tag only
        const entry = byId.get(img.id) ?? { tags: new Set<string>(), created: img.createdAt };
        for (const t of img.tags) entry.tags.add(t);
        byId.set(img.id, entry);
      }
    }
    return [...byId.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([extId, e]) => ({ extId, tags: [...e.tags].sort(), created: new Date(e.created).toISOString() }));
  }

  private dockerNetworkName(slug: string, nodeId: string): string {
    // Per node, because in a lab several agents may share one Docker engine; the fleet-wide id is the slug.
    const hash = createHash("sha256").update(nodeId).digest("hex").slice(0, 6);
    return `${this.config.networks.namePrefix}${slug}.${hash}`.slice(0, 63);
  }

  private networkExtId(slug: string): string {
    return `${this.config.networks.namePrefix}${slug}`;
  }

  async listNetworks(_vim?: VimInstance): Promise<DockerNetwork[]> {
    const perNode = await this.onLiveNodes(
      "networks.list",
      async (_n, c) => (await c.call("networks.list", {})).networks,
    );
    const prefix = this.config.networks.namePrefix;
    const bySlug = new Map<string, DockerNetwork>();
    for (const { node, value } of perNode) {
      for (const net of value) {
        if (!net.managed || !net.name.startsWith(prefix)) continue;
        const rest = net.name.slice(prefix.length);
        const dot = rest.lastIndexOf(".");
        if (dot <= 0) continue;
        const slug = rest.slice(0, dot);
        if (net.name !== this.dockerNetworkName(slug, node.nodeId)) continue;
        if (bySlug.has(slug)) continue;
        bySlug.set(slug, {
          name: slug,
          extId: this.networkExtId(slug),
          driver: net.driver,
          scope: "local",
          gateway: net.gateway ?? "",
          subnet: net.subnet ?? "",
        });
      }
    }
    return [...bySlug.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async listFlavors(_vim?: VimInstance): Promise<DeploymentFlavour[]> {
    return this.config.flavors.map(toDeploymentFlavour);
  }

  /** Real capacity of the live nodes: cores, RAM (MiB) and the per-node instance allowance. */
  async getQuota(vim: VimInstance): Promise<Quota> {
    const nodes = this.fleet.live();
    let cores = 0;
    let ram = 0;
    for (const n of nodes) {
      cores += Math.floor(n.capabilities.resources.cpu.cores);
      ram += Math.floor(n.capabilities.resources.memory.totalBytes / MIB);
    }
    return {
      tenant: vim.name ?? this.config.openbaton.name,
      cores,
      ram,
      instances: nodes.length * this.config.fleet.maxInstancesPerNode,
      // Containers have no floating IPs or key pairs; 0 is the honest figure (negative would mean unlimited).
      floatingIps: 0,
      keyPairs: 0,
    };
  }

  async getType(_vim: VimInstance): Promise<string> {
    return this.config.openbaton.type;
  }

  // ---------------------------------------------------------------------------------------------- servers

  private isOurs(deploymentId: string): boolean {
    return deploymentId.startsWith(this.deploymentPrefix);
  }

  private toServer(info: DeploymentInfo, node: LiveNode | undefined, status?: string): Server {
    const extId = `${info.nodeId}:${info.deploymentId}`;
    const known = this.placed.get(extId);
    const address = node ? nodeAddress(node) : undefined;
    const ips: Record<string, string[]> = {};
    const floatingIps: Record<string, string> = {};
    if (known && address) {
      for (const vl of known.virtualLinks) ips[vl] = [address];
      for (const vl of known.floatingLinks) floatingIps[vl] = address;
    }
    const hostname = known?.hostname ?? info.service;
    return {
      name: hostname,
      extId,
      status: status ?? serverStatus(info.state),
      extendedStatus: info.state,
      hostName: hostname,
      instanceName: info.containerName,
      hypervisorHostName: info.nodeId,
      ips,
      floatingIps,
      image: known?.image ?? { extId: info.image, name: info.image },
      ...(known ? { flavor: known.flavor, created: known.created } : {}),
    };
  }

  /** The containers this driver placed, with their real state; servers on silent nodes are INACTIVE. */
  async listServer(_vim: VimInstance): Promise<Server[]> {
    const perNode = await this.onLiveNodes("list", async (_n, c) => (await c.call("list", {})).deployments);
    const out: Server[] = [];
    const answered = new Set<string>();
    for (const { node, value } of perNode) {
      answered.add(node.nodeId);
      for (const d of value) if (this.isOurs(d.deploymentId)) out.push(this.toServer(d, node));
    }
    for (const p of this.placed.values()) {
      if (answered.has(p.nodeId)) continue;
      out.push({
        ...this.toServer(
          {
            deploymentId: p.deploymentId,
            nodeId: p.nodeId,
            service: p.hostname,
            replica: 0,
            image: p.image.name,
            desired: "running",
            state: "missing",
            containerName: p.hostname,
            devices: [],
            createdAt: Date.parse(p.created),
          },
          undefined,
          "INACTIVE",
        ),
        extendedStatus: "node offline",
      });
    }
    return out.sort((a, b) => a.extId.localeCompare(b.extId));
  }

  /** Resolves the image the NFVO names (an extId, or a tag) to a tag present on some live node. */
  private async resolveImage(image: string): Promise<{ extId: string; tag: string }> {
    const images = await this.listImages();
    const byId = images.find((i) => i.extId === image);
    if (byId?.tags[0] !== undefined) return { extId: byId.extId, tag: byId.tags[0] };
    const byTag = images.find((i) => i.tags.includes(image));
    if (byTag) return { extId: byTag.extId, tag: image };
    throw new IotFogError("IMAGE_NOT_FOUND", `image ${image} is not present on any live fog node`);
  }

  private flavorFor(flavor: string): { flavour: DeploymentFlavour; flavor?: Flavor } {
    if (flavor === "") {
      const first = this.config.flavors[0];
      return first
        ? { flavour: toDeploymentFlavour(first) }
        : { flavour: toDeploymentFlavour({ name: "", vcpus: 0, ramMb: 0, diskGb: 0 }) };
    }
    const found = this.config.flavors.find((f) => f.name === flavor);
    if (!found) {
      throw new IotFogError(
        "BAD_REQUEST",
        `unknown flavor "${flavor}"; this driver offers ${this.config.flavors.map((f) => f.name).join(", ")}`,
      );
    }
    return { flavour: toDeploymentFlavour(found), flavor: found };
  }

  /** Builds the ServiceSpec of one VNFC from the request, the VIM metadata, CP metadata and userdata. */
  buildSpec(vim: VimInstance, req: LaunchRequest, imageTag: string): ServiceSpec {
    const fog = parseFogSpec(req.userdata);
    const constraints: ConstraintInput[] = [...constraintsFromMetadata(vim.metadata)];
    for (const cp of req.networks) constraints.push(...constraintsFromMetadata(cp.metadata));
    constraints.push(...((fog?.constraints ?? []) as ConstraintInput[]));
    const constraintSet = parseConstraints(constraints, `constraints of ${req.hostname}`);
    const { flavor } = this.flavorFor(req.flavor);
    const resources: ServiceSpec["resources"] = {};
    if (flavor && flavor.vcpus > 0) resources.cpus = flavor.vcpus;
    if (flavor && flavor.ramMb > 0) resources.memoryBytes = flavor.ramMb * MIB;
    if (flavor && flavor.diskGb > 0) resources.diskBytes = flavor.diskGb * GIB;
    Object.assign(resources, fog?.resources ?? {});
    return parseWith(
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
        labels: { ...(fog?.labels ?? {}), "org.openiotfog.openbaton.hostname": req.hostname },
      },
      `service spec of ${req.hostname}`,
      "BAD_REQUEST",
    );
  }

  async launch(vim: VimInstance, req: LaunchRequest): Promise<Server> {
    const deadline = Date.now() + this.config.launchTimeoutMs;
    const image = await this.resolveImage(req.image);
    const spec = this.buildSpec(vim, req, image.tag);
    const { flavour } = this.flavorFor(req.flavor);
    const deploymentId = `${this.deploymentPrefix}${randomBytes(6).toString("hex")}`;
    const live = this.fleet.live();
    const nodes: NodeState[] = live.map((n) => ({
      capabilities: n.capabilities,
      online: true,
      allocations: [...this.reservations.values()]
        .filter((r) => r.nodeId === n.nodeId)
        .map((r) => r.allocation),
    }));
    const decision = place({ spec, deploymentId, replica: 0 }, { nodes });
    if (!decision.ok) {
      throw new DriverError(
        live.length === 0 ? "no live fog node (no agent presence on MQTT)" : decision.message,
      );
    }
    const node = live.find((n) => n.nodeId === decision.nodeId) as LiveNode;
    const extId = `${node.nodeId}:${deploymentId}`;
    this.reservations.set(deploymentId, {
      nodeId: node.nodeId,
      allocation: {
        deploymentId,
        service: spec.name,
        state: "reserved",
        resources: { ...spec.resources },
        devices: decision.devices.map((d) => ({ id: d.device.id, exclusive: d.exclusive })),
      },
    });
    const record: PlacedServer = {
      extId,
      nodeId: node.nodeId,
      deploymentId,
      hostname: req.hostname,
      image: { extId: image.extId, name: image.tag },
      flavor: flavour,
      virtualLinks: [...new Set(req.networks.map((cp) => cp.virtual_link_reference))],
      floatingLinks: Object.keys(req.floatingIps),
      created: new Date().toISOString(),
    };
    let deployed = false;
    try {
      const client = this.agents.client(node.nodeId);
      const attachments = await this.ensureNetworks(client, node, record.virtualLinks, req.hostname);
      await this.ensureImage(client, node, image.tag);
      this.placed.set(extId, record);
      const result = await client.call(
        "deploy",
        { deploymentId, spec, devices: decision.devices, networks: attachments, start: true },
        { timeoutMs: Math.max(1, Math.min(this.config.agents.deployTimeoutMs, deadline - Date.now())) },
      );
      deployed = true;
      let info = result.deployment;
      while (req.wait && info.state !== "running") {
        if (["exited", "dead"].includes(info.state) || Date.now() > deadline) {
          throw new IotFogError(
            "RUNTIME_ERROR",
            `container of ${req.hostname} on ${node.nodeId} is ${info.state}${info.exitCode === undefined ? "" : ` (exit code ${info.exitCode})`}`,
          );
        }
        await sleep(200);
        info = await client.call("inspect", { deploymentId });
      }
      this.logger.info("launched", { hostname: req.hostname, nodeId: node.nodeId, deploymentId });
      return this.toServer(info, node);
    } catch (e) {
      this.placed.delete(extId);
      if (!deployed && !(e instanceof IotFogError && e.code === "TIMEOUT"))
        throw e instanceof DriverError ? e : new DriverError(errorMessage(e));
      // Something may be left on the node: report it to the NFVO, then remove it.
      const partial = this.toServer(
        {
          deploymentId,
          nodeId: node.nodeId,
          service: spec.name,
          replica: 0,
          image: image.tag,
          desired: "running",
          state: "dead",
          containerName: req.hostname,
          devices: [],
          createdAt: Date.now(),
        },
        node,
        "ERROR",
      );
      void this.removeDeployment(node.nodeId, deploymentId);
      throw new DriverError(`launch of ${req.hostname} on ${node.nodeId} failed: ${errorMessage(e)}`, {
        ...partial,
        hostName: req.hostname,
        name: req.hostname,
      });
    } finally {
      this.reservations.delete(deploymentId);
    }
  }

  /** The per-node Docker networks of the virtual links (created on the chosen node if it lacks them). */
  private async ensureNetworks(
    client: AgentClient,
    node: LiveNode,
    virtualLinks: string[],
    hostname: string,
  ): Promise<Array<{ name: string; aliases: string[] }>> {
    const out: Array<{ name: string; aliases: string[] }> = [];
    for (const vl of virtualLinks) {
      const name = this.dockerNetworkName(slugOf(vl), node.nodeId);
      await client.call("networks.create", { name, driver: this.config.networks.driver, labels: {} });
      out.push({ name, aliases: [hostname] });
    }
    return out;
  }

  /** Copies the image from a peer node over ZeroMQ when the chosen node lacks it (no registry needed). */
  private async ensureImage(client: AgentClient, node: LiveNode, tag: string): Promise<void> {
    const has = (await client.call("images.list", {})).images.some((i) => i.tags.includes(tag));
    if (has) return;
    for (const peer of this.fleet.live()) {
      if (peer.nodeId === node.nodeId) continue;
      const peerClient = this.agents.client(peer.nodeId);
      let present: boolean;
      try {
        present = (await peerClient.call("images.list", {})).images.some((i) => i.tags.includes(tag));
      } catch {
        continue;
      }
      if (!present) continue;
      this.logger.info("copying image between nodes", { image: tag, from: peer.nodeId, to: node.nodeId });
      await copyImage(peerClient, client, tag);
      return;
    }
    throw new IotFogError(
      "IMAGE_NOT_FOUND",
      `image ${tag} is on no live node that could copy it to ${node.nodeId}`,
    );
  }

  private async removeDeployment(nodeId: string, deploymentId: string): Promise<boolean> {
    try {
      const r = await this.agents.client(nodeId).call("remove", { deploymentId, timeoutSeconds: 2 });
      return r.removed;
    } catch (e) {
      this.logger.warn("could not remove a container", { nodeId, deploymentId, error: errorMessage(e) });
      return false;
    }
  }

  /** Idempotent: an unknown or already removed server is fine; the NFVO never sees errors here anyway. */
  async deleteServer(_vim: VimInstance, extId: string): Promise<boolean> {
    const sep = extId.indexOf(":");
    const deploymentId = sep > 0 ? extId.slice(sep + 1) : extId;
    if (!this.isOurs(deploymentId)) {
      this.logger.info("delete of a server this driver did not place, ignored", { extId });
      return true;
    }
    const nodeId = sep > 0 ? extId.slice(0, sep) : undefined;
    this.placed.delete(extId);
    const nodes =
      nodeId !== undefined && this.fleet.liveNode(nodeId) ? [nodeId] : this.fleet.live().map((n) => n.nodeId);
    await Promise.all(nodes.map((n) => this.removeDeployment(n, deploymentId)));
    return true;
  }

  async rebuildServer(_vim: VimInstance, serverId: string, imageId: string): Promise<Server> {
    throw new IotFogError(
      "UNSUPPORTED",
      `rebuildServer(${serverId}, ${imageId}): fog containers are replaced, not rebuilt; delete the VNFC and launch it again`,
    );
  }

  // ---------------------------------------------------------------------------------------------- networks

  async createNetwork(_vim: VimInstance, network: NetworkParam): Promise<DockerNetwork> {
    const slug = slugOf(network.name);
    const params = {
      driver: this.config.networks.driver,
      ...(network.subnet ? { subnet: network.subnet } : {}),
      labels: {},
    };
    const created = await this.onLiveNodes("networks.create", (node, c) =>
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
      extId: this.networkExtId(slug),
      driver: first.driver,
      scope: "local",
      gateway: first.gateway ?? "",
      subnet: first.subnet ?? network.subnet ?? "",
    };
  }

  async updateNetwork(vim: VimInstance, network: NetworkParam): Promise<DockerNetwork> {
    return this.getNetworkById(vim, network.extId ?? network.name);
  }

  async deleteNetwork(_vim: VimInstance, extId: string): Promise<boolean> {
    const prefix = this.config.networks.namePrefix;
    const slug = extId.startsWith(prefix) ? extId.slice(prefix.length) : slugOf(extId);
    await this.onLiveNodes("networks.remove", (node, c) =>
      c.call("networks.remove", { name: this.dockerNetworkName(slug, node.nodeId) }),
    );
    return true;
  }

  async getNetworkById(vim: VimInstance, id: string): Promise<DockerNetwork> {
    const found = (await this.listNetworks(vim)).find((n) => n.extId === id || n.name === id);
    if (!found) throw new IotFogError("NOT_FOUND", `no fog network with id ${id}`);
    return found;
  }

  async getSubnetsExtIds(vim: VimInstance, networkExtId: string): Promise<string[]> {
    // A fog network has exactly one subnet, identified with the network itself.
    return [(await this.getNetworkById(vim, networkExtId)).extId];
  }

  async createSubnet(): Promise<Obj> {
    throw new IotFogError(
      "UNSUPPORTED",
      "createSubnet: a fog network has one subnet, set by createNetwork (cidr)",
    );
  }

  async updateSubnet(): Promise<Obj> {
    throw new IotFogError("UNSUPPORTED", "updateSubnet: a fog network's subnet is fixed when it is created");
  }

  async deleteSubnet(_vim: VimInstance, subnetExtId: string): Promise<boolean> {
    throw new IotFogError("UNSUPPORTED", `deleteSubnet(${subnetExtId}): delete the network instead`);
  }

  // ---------------------------------------------------------------------------------------------- images

  private async imageAnswer(tags: string[], fallbackName: string): Promise<Obj> {
    const images = await this.listImages();
    const found = images.find((i) => i.tags.some((t) => tags.includes(t)));
    const name = tags[0] ?? fallbackName;
    return found ? { extId: found.extId, name, tags: found.tags } : { extId: name, name, tags };
  }

  async addImageFromUrl(_vim: VimInstance, image: Obj, url: string): Promise<Obj> {
    if (/^https?:\/\//i.test(url)) {
      const res = await fetch(url);
      if (!res.ok)
        throw new IotFogError("NOT_FOUND", `cannot download image tarball ${url}: HTTP ${res.status}`);
      return this.importEverywhere(Buffer.from(await res.arrayBuffer()), image);
    }
    const pulled = await this.onLiveNodes("images.pull", (_n, c) =>
      c.call("images.pull", { image: url }, { timeoutMs: this.config.agents.imageTransferTimeoutMs }),
    );
    if (pulled.length === 0) throw new IotFogError("UNAVAILABLE", `no live fog node could pull ${url}`);
    return this.imageAnswer([url], url);
  }

  private async importEverywhere(tarball: Buffer, image: Obj): Promise<Obj> {
    const imported = await this.onLiveNodes("image import", (_n, c) => c.importImage(tarball));
    const first = imported[0]?.value;
    if (first === undefined) throw new IotFogError("UNAVAILABLE", "no live fog node accepted the image");
    return this.imageAnswer(first.images, typeof image.name === "string" ? image.name : "image");
  }

  async addImageFromBytes(_vim: VimInstance, image: Obj, tarball: Buffer): Promise<Obj> {
    return this.importEverywhere(tarball, image);
  }

  async copyImage(_vim: VimInstance, image: Obj, tarball: Buffer): Promise<Obj> {
    return this.importEverywhere(tarball, image);
  }

  async updateImage(_vim: VimInstance, image: Obj): Promise<Obj> {
    const images = await this.listImages();
    const key = [image.extId, image.name].filter((v): v is string => typeof v === "string");
    const found = images.find((i) => key.includes(i.extId) || i.tags.some((t) => key.includes(t)));
    if (!found) throw new IotFogError("NOT_FOUND", `no image ${key.join(" / ")} on the live fog nodes`);
    return { ...image, extId: found.extId, tags: found.tags };
  }

  async deleteImage(_vim: VimInstance, image: Obj): Promise<boolean> {
    throw new IotFogError(
      "UNSUPPORTED",
      `deleteImage(${String(image.extId ?? image.name)}): images are removed by each node's operator, not over Open Baton`,
    );
  }

  // ---------------------------------------------------------------------------------------------- flavors

  private configuredFlavour(flavour: Obj, op: string): DeploymentFlavour {
    const key = flavour.flavour_key ?? flavour.extId;
    const found = this.config.flavors.find((f) => f.name === key);
    if (!found) {
      throw new IotFogError(
        "UNSUPPORTED",
        `${op}(${String(key)}): flavors are resource profiles in the driver configuration (flavors:), not created over Open Baton`,
      );
    }
    return toDeploymentFlavour(found);
  }

  async addFlavor(_vim: VimInstance, flavour: Obj): Promise<DeploymentFlavour> {
    return this.configuredFlavour(flavour, "addFlavor");
  }

  async updateFlavor(_vim: VimInstance, flavour: Obj): Promise<DeploymentFlavour> {
    return this.configuredFlavour(flavour, "updateFlavor");
  }

  async deleteFlavor(_vim: VimInstance, extId: string): Promise<boolean> {
    throw new IotFogError("UNSUPPORTED", `deleteFlavor(${extId}): flavors live in the driver configuration`);
  }
}

export function toDeploymentFlavour(f: Flavor): DeploymentFlavour {
  return { flavour_key: f.name, extId: f.name, ram: f.ramMb, disk: f.diskGb, vcpus: f.vcpus };
}

/** Docker-safe, reversible for ordinary virtual-link names (letters, digits, '-', '_'). */
export function slugOf(name: string): string {
  const slug = name.replace(/[^a-zA-Z0-9_-]/g, "_").replace(/^[^a-zA-Z0-9]+/, "");
  return (slug === "" ? "vl" : slug).slice(0, 40);
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

/** The address other fog nodes reach this node at: the host of its command endpoint. */
export function nodeAddress(node: LiveNode): string {
  try {
    const host = new URL(node.endpoint.replace(/^tcp:/, "http:")).hostname.replace(/^\[|\]$/g, "");
    if (host !== "" && host !== "*" && host !== "0.0.0.0") return host;
  } catch {
    // not a URL: fall back to the hostname
  }
  return node.capabilities.hostname;
}
