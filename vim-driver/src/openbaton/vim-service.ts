import { createHash, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import {
  IotFogError,
  errorMessage,
  hostNameSchema,
  isIotFogError,
  parseConstraints,
  parseWith,
  serviceSpecSchema,
  sleep,
  type AgentClient,
  type ConstraintInput,
  type DeploymentInfo,
  type Logger,
  type NetworkAttachment,
  type ServiceSpec,
} from "@openiotfog/shared";
import type { AgentPool } from "../fleet/agents";
import type { Orchestrator } from "../fleet/orchestrator";
import { agentDeploymentId } from "../fleet/workload";
import type { ReplicaDecision } from "../fleet/types";
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
import { PendingRemovals } from "./pending-removals";
import { ReturningNodes } from "./returning-nodes";

type Obj = Record<string, unknown>;

/** What the driver remembers of a server it launched (hostname and virtual links are not on the agent). */
interface PlacedServer {
  hostname: string;
  image: { extId: string; name: string };
  flavor: DeploymentFlavour;
  virtualLinks: string[];
  floatingLinks: string[];
  /** Where other fog nodes reach it (nodeAddress of its node at launch). */
  address: string;
  created: string;
}

/** What a Server is made of: an orchestrator replica record, or an agent's deployment info. */
interface ServerSource {
  nodeId: string;
  agentDeploymentId: string;
  service: string;
  image: string;
  state: string;
  containerName?: string | undefined;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/**
 * The VIM operations over the shared fleet parts (vim-driver/src/fleet): inventory from the live nodes of the
 * FleetView, agent calls through the AgentPool, and launches through the Orchestrator's deploy path (placement
 * that sees every other deployment, image copy from a peer node, agent deploy, record), so Open Baton VNFCs
 * also appear in the fleet API and GUI. Every launch is one orchestrator deployment named
 * `ob-<type>-<name>-<random>`, so this driver lists and deletes only what it placed.
 */
export class VimService implements VimOperations {
  private readonly placed = new Map<string, PlacedServer>();
  readonly deploymentPrefix: string;
  /** Removals owed to nodes that were offline or did not answer (tombstones, in the declared state). */
  readonly pendingRemovals: PendingRemovals;
  /** Pays them when the node is live again, and removes superseded VNFC copies (a component to run). */
  readonly returningNodes: ReturningNodes;

  constructor(
    private readonly config: DriverConfig,
    private readonly fleet: LiveFleet,
    private readonly agents: AgentPool,
    private readonly orchestrator: Orchestrator,
    private readonly logger: Logger,
  ) {
    // Orchestrator deployment names are DNS labels (no dots); agent ids are `<name>.<service>.0`.
    this.deploymentPrefix = `ob-${config.openbaton.type}-${config.openbaton.name}-`;
    this.pendingRemovals = new PendingRemovals(orchestrator.declared);
    this.returningNodes = new ReturningNodes({
      fleet,
      agent: (nodeId) => agents.client(nodeId),
      pending: this.pendingRemovals,
      isOurs: (id) => this.isOurs(id),
      ownLaunches: async () => {
        const own = new Set<string>();
        for (const d of await orchestrator.list())
          if (d.origin === "api" && this.isOurs(d.id))
            for (const r of d.replicas) own.add(r.agentDeploymentId);
        return own;
      },
      forget: (id) => this.forget(id),
      logger,
    });
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
    const settled = await Promise.allSettled(nodes.map(async (n) => fn(n, this.agents.client(n.nodeId))));
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

  private isOurs(agentId: string): boolean {
    return agentId.startsWith(this.deploymentPrefix);
  }

  private toServer(r: ServerSource, status = serverStatus(r.state)): Server {
    const extId = `${r.nodeId}:${r.agentDeploymentId}`;
    const known = this.placed.get(extId);
    const ips: Record<string, string[]> = {};
    const floatingIps: Record<string, string> = {};
    if (known) {
      for (const vl of known.virtualLinks) ips[vl] = [known.address];
      for (const vl of known.floatingLinks) floatingIps[vl] = known.address;
    }
    const hostname = known?.hostname ?? r.service;
    return {
      name: hostname,
      extId,
      status,
      extendedStatus: r.state,
      hostName: hostname,
      instanceName: r.containerName ?? hostname,
      hypervisorHostName: r.nodeId,
      ips,
      floatingIps,
      image: known?.image ?? { extId: r.image, name: r.image },
      ...(known ? { flavor: known.flavor, created: known.created } : {}),
    };
  }

  /**
   * The containers this driver placed, from the orchestrator's records refreshed from the agents (so also the
   * ones found on agents after a driver restart); servers on nodes that stopped answering are INACTIVE.
   */
  async listServer(_vim: VimInstance): Promise<Server[]> {
    const out: Server[] = [];
    for (const d of await this.orchestrator.list()) {
      if (!d.id.startsWith(this.deploymentPrefix)) continue;
      for (const r of d.replicas) {
        out.push(
          r.state === "unknown"
            ? { ...this.toServer(r, "INACTIVE"), extendedStatus: "node offline" }
            : this.toServer(r),
        );
      }
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

  /**
   * Builds the ServiceSpec of one VNFC from the request, the VIM metadata, CP metadata and userdata, and the DNS
   * names it answers to on each of its virtual links (its hostname, plus the fog spec's `aliases`).
   */
  buildLaunch(
    vim: VimInstance,
    req: LaunchRequest,
    imageTag: string,
  ): { spec: ServiceSpec; aliases: Map<string, string[]> } {
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
        labels: { ...(fog?.labels ?? {}), "org.openiotfog.openbaton.hostname": req.hostname },
        // Inside the container, `hostname` says what the NFVO calls the VNFC (as Server.hostName does).
        hostname: fog?.hostname ?? containerHostName(req.hostname),
        ...(fog !== undefined && fog.dns.length > 0 ? { dns: fog.dns } : {}),
      },
      `service spec of ${req.hostname}`,
      "BAD_REQUEST",
    );
    return { spec, aliases };
  }

  /**
   * Place, copy the image, deploy (Orchestrator.deploy, with the virtual links' networks made ready on the
   * chosen node), then wait until the container runs, all inside launchTimeoutMs. A failure once the agent was
   * asked to create the container answers `exception.server` (status ERROR) and removes what was created.
   */
  async launch(vim: VimInstance, req: LaunchRequest): Promise<Server> {
    const t0 = performance.now();
    const deadline = Date.now() + this.config.launchTimeoutMs;
    if (this.fleet.live().length === 0) throw new DriverError("no live fog node (no agent presence on MQTT)");
    const image = await this.resolveImage(req.image);
    const { spec, aliases } = this.buildLaunch(vim, req, image.tag);
    const { flavour } = this.flavorFor(req.flavor);
    const name = `${this.deploymentPrefix}${randomBytes(6).toString("hex")}`;
    const agentId = agentDeploymentId(name, spec.name, 0);
    const virtualLinks = [...aliases.keys()];
    const at: { nodeId?: string; starting: boolean; networks?: Promise<NetworkAttachment[]> } = {
      starting: false,
    };
    // Where the time goes (logged with every launch): ms since t0 at the end of each step.
    const steps: Record<string, number> = { resolved: performance.now() - t0 };
    const deploying = this.orchestrator.deploy(
      { name, services: [spec] },
      (p) => {
        steps[p.phase] = performance.now() - t0;
        if (p.phase === "placed") {
          at.nodeId = p.nodeId;
          // The networks are made ready on the chosen node while the orchestrator checks its image.
          at.networks = this.attachments(p.nodeId, aliases);
          at.networks.catch(() => undefined);
        } else if (p.phase === "starting") at.starting = true;
      },
      (nodeId) => at.networks ?? this.attachments(nodeId, aliases),
    );
    try {
      const record = await beforeDeadline(deploying, deadline, `launch of ${req.hostname}`);
      const replica = record.replicas[0];
      if (replica === undefined) throw new IotFogError("INTERNAL", `deployment ${name} has no replica`);
      let source: ServerSource = replica;
      if (req.wait && replica.state !== "running") {
        const info = await this.waitRunning(replica.nodeId, agentId, req.hostname, deadline);
        source = { ...replica, state: info.state, containerName: info.containerName };
      }
      const node = this.fleet.liveNode(replica.nodeId);
      this.placed.set(`${replica.nodeId}:${agentId}`, {
        hostname: req.hostname,
        image: { extId: image.extId, name: image.tag },
        flavor: flavour,
        virtualLinks,
        floatingLinks: Object.keys(req.floatingIps),
        address: node ? nodeAddress(node) : replica.nodeId,
        created: new Date(record.createdAt).toISOString(),
      });
      steps.running = performance.now() - t0;
      this.logger.info("launched", {
        hostname: req.hostname,
        nodeId: replica.nodeId,
        deploymentId: agentId,
        steps: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      });
      return this.toServer(source);
    } catch (e) {
      const nodeId = at.nodeId;
      if (nodeId === undefined) throw new DriverError(placementMessage(e));
      const message = `launch of ${req.hostname} on ${nodeId} failed: ${errorMessage(e)}`;
      if (!at.starting) throw new DriverError(message);
      // The container may exist (or still be coming): report it to the NFVO, remove it once the deploy settled.
      const partial = this.toServer(
        {
          nodeId,
          agentDeploymentId: agentId,
          service: spec.name,
          image: image.tag,
          state: "dead",
          containerName: req.hostname,
        },
        "ERROR",
      );
      void deploying
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => this.discard(name, nodeId, agentId));
      throw new DriverError(message, { ...partial, hostName: req.hostname, name: req.hostname });
    }
  }

  private async waitRunning(
    nodeId: string,
    agentId: string,
    hostname: string,
    deadline: number,
  ): Promise<DeploymentInfo> {
    const client = this.agents.client(nodeId);
    for (;;) {
      const info = await client.call(
        "inspect",
        { deploymentId: agentId },
        { timeoutMs: Math.max(1, Math.min(this.config.agents.requestTimeoutMs, deadline - Date.now())) },
      );
      if (info.state === "running") return info;
      if (["exited", "dead", "missing"].includes(info.state) || Date.now() > deadline) {
        throw new IotFogError(
          "RUNTIME_ERROR",
          `container of ${hostname} on ${nodeId} is ${info.state}${info.exitCode === undefined ? "" : ` (exit code ${info.exitCode})`}`,
        );
      }
      await sleep(100);
    }
  }

  /** The per-node Docker networks of the virtual links, created on the chosen node if it lacks them. */
  private async attachments(nodeId: string, aliases: Map<string, string[]>): Promise<NetworkAttachment[]> {
    const client = this.agents.client(nodeId);
    return Promise.all(
      [...aliases].map(async ([vl, names]) => {
        const name = this.dockerNetworkName(slugOf(vl), nodeId);
        await client.call("networks.create", { name, driver: this.config.networks.driver, labels: {} });
        // The NFVO's hostname (and the VNFD's aliases): VNFCs on the same node and link reach each other by name.
        return { name, aliases: names };
      }),
    );
  }

  /** Removes a failed launch on its node (short grace), then from the orchestrator's records. */
  private async discard(name: string, nodeId: string, agentId: string): Promise<void> {
    // The agent serialises commands per deployment id: this remove runs after a deploy still in progress there.
    await this.removeDeployment(nodeId, agentId, true);
    try {
      await this.orchestrator.remove(name);
    } catch (e) {
      if (!(isIotFogError(e) && e.code === "NOT_FOUND"))
        this.logger.warn("could not forget a failed launch", { name, error: errorMessage(e) });
    }
  }

  /**
   * True when the node answered (whether or not it still had the container). `owed`: a failure is remembered
   * as a tombstone and the container removed when its node is live again (ReturningNodes).
   */
  private async removeDeployment(nodeId: string, deploymentId: string, owed = false): Promise<boolean> {
    try {
      // A short stop grace: the NFVO's delete is fire-and-forget and a VNFC is disposable.
      await this.agents.client(nodeId).call("remove", { deploymentId, timeoutSeconds: 2 });
      return true;
    } catch (e) {
      const reason = errorMessage(e);
      this.logger.warn("could not remove a container", { nodeId, deploymentId, error: reason, owed });
      if (owed) {
        this.pendingRemovals.add({ nodeId, deploymentId, since: Date.now(), reason });
        this.returningNodes.retry(nodeId);
      }
      return false;
    }
  }

  /** The orchestrator forgets a deployment of this driver (`<name>.<service>.<replica>`) once it is gone. */
  private async forget(agentId: string): Promise<void> {
    const dot = agentId.indexOf(".");
    try {
      await this.orchestrator.remove(dot > 0 ? agentId.slice(0, dot) : agentId);
    } catch (e) {
      if (!(isIotFogError(e) && e.code === "NOT_FOUND"))
        this.logger.info("the orchestrator could not remove a server", { agentId, error: errorMessage(e) });
    }
  }

  /** Idempotent: an unknown or already removed server is fine; the NFVO never sees errors here anyway. */
  async deleteServer(_vim: VimInstance, extId: string): Promise<boolean> {
    const sep = extId.indexOf(":");
    const agentId = sep > 0 ? extId.slice(sep + 1) : extId;
    if (!this.isOurs(agentId)) {
      this.logger.info("delete of a server this driver did not place, ignored", { extId });
      return true;
    }
    const nodeId = sep > 0 ? extId.slice(0, sep) : undefined;
    this.placed.delete(extId);
    let removed = false;
    if (nodeId !== undefined && this.fleet.liveNode(nodeId) !== undefined) {
      removed = await this.removeDeployment(nodeId, agentId, true);
    } else if (nodeId !== undefined) {
      // Its node is offline: the agent keeps the container running, so it is removed when the node is back.
      this.pendingRemovals.add({ nodeId, deploymentId: agentId, since: Date.now(), reason: "node offline" });
      this.logger.info("node offline: removal owed until it is back", { nodeId, deploymentId: agentId });
    }
    // Then the orchestrator forgets it (its own remove finds the container gone).
    await this.forget(agentId);
    // Its node did not answer, or the id names none: remove it wherever it may be.
    if (!removed) await Promise.all(this.fleet.live().map((n) => this.removeDeployment(n.nodeId, agentId)));
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
      const res = await fetch(url).catch((e: unknown) => {
        // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND...) is its cause.
        const cause = (e as { cause?: unknown }).cause;
        const why = cause === undefined ? errorMessage(e) : `${errorMessage(e)}: ${errorMessage(cause)}`;
        throw new IotFogError("UNAVAILABLE", `cannot download image tarball ${url}: ${why}`);
      });
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
/** The NFVO's hostname when it is a valid host name (it is `<vnfr name>-<n>`), else its service-name form. */
function containerHostName(hostname: string): string {
  return hostNameSchema.safeParse(hostname).success ? hostname : serviceName(hostname);
}

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

/** Rejects with TIMEOUT when `work` has not settled by `deadline` (epoch ms); `work` itself goes on. */
async function beforeDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new IotFogError("TIMEOUT", `${what} did not finish in time`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The placement engine's own explanation of the first replica it could not place. */
function placementMessage(e: unknown): string {
  if (isIotFogError(e) && e.code === "PLACEMENT_FAILED" && Array.isArray(e.details?.decisions)) {
    for (const d of e.details.decisions as ReplicaDecision[]) if (!d.decision.ok) return d.decision.message;
  }
  return errorMessage(e);
}
