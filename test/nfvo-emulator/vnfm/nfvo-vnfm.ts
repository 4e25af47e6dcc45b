import { randomUUID } from "node:crypto";
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import { waitFor } from "../../helpers/services";
import { NfvoEmulator, type NfvoEmulatorOptions, type StoredVim } from "../emulator";
import { getQueues } from "../management";
import { OPENBATON_EXCHANGE, PluginException } from "../plugin-caller";
import { readUpdateVnfr, updateVnfr } from "./update-vnfr";

/**
 * The NFVO's VNF-manager side, written from docs/openbaton-protocol.md §6 on top of the plugin-side
 * emulator (../emulator.ts). It registers VNFMs (`vnfmManagerEndpoint`: permissions for the endpoint, endpoint
 * stored), deploys an NSD the way VnfmManager / VnfStateHandler and the tasks do — INSTANTIATE to the VNFM's
 * endpoint queue (RPC, no timeout in the NFVO; a test deadline here), GRANT_OPERATION (refresh, image check,
 * createNetwork), ALLOCATE_RESOURCES (GenericVIM.allocate: launchInstanceAndWait through the VIM driver for every
 * VNFC, `#Hostname=` replaced, VNFC records built from the Servers), MODIFY with the dependency values
 * (DependencyManagement), START — and releases it (RELEASE_RESOURCES, then deleteServerByIdAndWait per VNFC).
 * Also: STOP / START and HEAL of one VNFC, SCALE_OUT with the VNFM's SCALING answered by ScalingTask (NFVO 6.x VnfmManager.addVnfc,
 * VnfStateHandler.executeAction, ScalingTask), SCALE_IN of one VNFC, the VNFM's UPDATEVNFR merged as UpdatevnfrTask
 * does (update-vnfr.ts); VNFM registrations and the VNFM-facing
 * listeners survive a broker restart.
 */

export const NFVO_RPC_QUEUE = "vnfm.nfvo.actions.reply";
export const NFVO_ONE_WAY_QUEUE = "vnfm.nfvo.actions";

type Json = Record<string, unknown>;

export interface VnfmEndpoint {
  type: string;
  endpoint: string;
  endpointType: string;
  description?: string;
  enabled: boolean;
  active: boolean;
}

export interface NsrRecord {
  id: string;
  name: string;
  status: "NULL" | "INITIALIZED" | "INACTIVE" | "ACTIVE" | "ERROR" | "TERMINATED";
  vnfrs: Map<string, Json>;
  /** VNFD name → vdu id → VIM name chosen at deploy time. */
  vims: Map<string, string>;
  /** ERROR messages received from VNFMs, in order. */
  errors: string[];
}

export interface VnfmTraffic {
  direction: "to-vnfm" | "from-vnfm";
  action: string;
  body: Json;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** Fields that are Java Maps, not entities: Gson writes their entries only. */
const MAP_FIELDS = new Set(["requires", "metadata", "extension"]);

/** Onboarding gives every catalogue entity an id (the NFVO's JPA @PrePersist); maps stay maps. */
function withIds(o: unknown, isMap = false): unknown {
  if (Array.isArray(o)) return o.map((v) => withIds(v));
  if (!isObject(o)) return o;
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    out[k] = MAP_FIELDS.has(k) && isObject(v) ? withIds(v, true) : withIds(v);
  }
  if (isMap) return out;
  if (out.id === undefined) out.id = randomUUID();
  if (out.hbVersion === undefined) out.hbVersion = 0;
  return out;
}

/** A body as the traffic log keeps it: parsed when it is JSON, else as `{ raw }`. */
function parseOrRaw(body: string): Json {
  try {
    const v: unknown = JSON.parse(body);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : { raw: body };
  } catch {
    return { raw: body };
  }
}

export class NfvoWithVnfms extends NfvoEmulator {
  readonly endpoints = new Map<string, VnfmEndpoint>();
  readonly traffic: VnfmTraffic[] = [];
  readonly nsrs = new Map<string, NsrRecord>();
  /** DependencyManagement: the VNFRecordDependency of each target VNFR (`<nsr id>/<vnfr name>`), as MODIFY sent it. */
  private readonly dependencies = new Map<string, Json>();
  /** One-way messages from VNFMs (asynchronous ERRORs). */
  readonly oneWay: Json[] = [];
  private vnfmConn: ChannelModel | undefined;
  private vnfmChannel: Channel | undefined;
  private vnfmSideStopped = true;
  private vnfmReconnecting: Promise<void> | undefined;
  private readonly pending = new Map<string, (body: Json) => void>();

  constructor(private readonly options: NfvoEmulatorOptions) {
    super(options);
  }

  override async start(): Promise<void> {
    await super.start();
    this.vnfmSideStopped = false;
    await this.connectVnfmSide();
  }

  /** The NFVO's VNFM-facing listeners and template; like Spring AMQP, they reconnect after a broker restart. */
  private async connectVnfmSide(): Promise<void> {
    const conn = await this.connectAsAdmin();
    conn.on("error", () => undefined);
    conn.on("close", () => {
      if (this.vnfmConn === conn) {
        this.vnfmConn = undefined;
        this.vnfmChannel = undefined;
      }
      if (!this.vnfmSideStopped) this.vnfmReconnecting ??= this.reconnectVnfmSide();
    });
    const ch = await conn.createChannel();
    ch.on("error", () => undefined);
    for (const q of [NFVO_RPC_QUEUE, NFVO_ONE_WAY_QUEUE]) {
      await ch.assertQueue(q, { durable: true, autoDelete: true, exclusive: false });
      await ch.bindQueue(q, OPENBATON_EXCHANGE, q);
    }
    // Spring AMQP's convertSendAndReceive uses RabbitMQ direct reply-to: the VNFM must answer via "".
    await ch.consume("amq.rabbitmq.reply-to", (msg) => this.onVnfmReply(msg), { noAck: true });
    await ch.consume(NFVO_RPC_QUEUE, (msg) => void this.onVnfmRpc(ch, msg), { noAck: true });
    await ch.consume(
      NFVO_ONE_WAY_QUEUE,
      (msg) => {
        if (msg === null) return;
        const body = JSON.parse(msg.content.toString("utf8")) as Json;
        this.traffic.push({ direction: "from-vnfm", action: String(body.action), body });
        this.oneWay.push(body);
      },
      { noAck: true },
    );
    this.vnfmConn = conn;
    this.vnfmChannel = ch;
  }

  private async reconnectVnfmSide(): Promise<void> {
    try {
      while (!this.vnfmSideStopped) {
        try {
          await this.connectVnfmSide();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 300));
        }
      }
    } finally {
      this.vnfmReconnecting = undefined;
    }
  }

  override async stop(opts: { removeUsers?: boolean } = {}): Promise<void> {
    this.vnfmSideStopped = true;
    await this.vnfmReconnecting;
    const conn = this.vnfmConn;
    this.vnfmConn = undefined;
    this.vnfmChannel = undefined;
    if (conn) await conn.close().catch(() => undefined);
    await super.stop(opts);
  }

  /** Waits until a VNFM of `type` has registered and consumes the queue named after it (its default endpoint). */
  async waitForVnfm(type: string, timeoutMs = 20000): Promise<void> {
    await waitFor(
      async () =>
        this.endpoints.has(type) && (await getQueues(this.management, this.options.vhost)).includes(type),
      { timeoutMs, what: `VNFM endpoint ${type} registered and consumed` },
    );
  }

  /** A restarted NFVO with the default create-drop database forgets VNFM endpoints too. */
  override forgetDatabase(): void {
    super.forgetDatabase();
    this.endpoints.clear();
  }

  /** ComponentManager.enableManager for VNFMs: the RabbitMQ user is `type`, the permissions name the endpoint. */
  override async enableManager(message: string): Promise<string | null> {
    let body: Json;
    try {
      body = JSON.parse(message) as Json;
    } catch {
      return super.enableManager(message);
    }
    const endpoint = body.vnfmManagerEndpoint;
    if (!isObject(endpoint)) return super.enableManager(message);
    const action = String(body.action).toLowerCase();
    if (action === "register") {
      if (typeof body.type !== "string") return null;
      const username = body.type;
      const existing = this.credentials.get(username);
      if (existing) {
        this.events.push({ kind: "register", type: username, reused: true });
        return JSON.stringify(existing);
      }
      const queue = String(endpoint.endpoint);
      const record = await this.createManager(username, queue);
      this.endpoints.set(String(endpoint.type), {
        type: String(endpoint.type),
        endpoint: queue,
        endpointType: typeof endpoint.endpointType === "string" ? endpoint.endpointType : "RABBIT",
        ...(typeof endpoint.description === "string" ? { description: endpoint.description } : {}),
        enabled: endpoint.enabled !== false,
        active: endpoint.active !== false,
      });
      this.events.push({ kind: "register", type: username, reused: false });
      return JSON.stringify(record);
    }
    if (action === "unregister" || action === "deregister") {
      const stored = this.credentials.get(String(body.username));
      if (!stored || String(body.password) !== stored.rabbitPassword) return null;
      this.endpoints.delete(String(endpoint.type));
      this.events.push({ kind: "deregister", username: stored.rabbitUsername, accepted: true });
      await this.removeManager(stored.rabbitUsername);
      return null;
    }
    return null;
  }

  // ------------------------------------------------------------------------------------------ NFVO → VNFM

  private onVnfmReply(msg: ConsumeMessage | null): void {
    if (msg === null) return;
    const id = msg.properties.correlationId as string | undefined;
    const waiter = id === undefined ? undefined : this.pending.get(id);
    if (waiter === undefined || id === undefined) return;
    this.pending.delete(id);
    waiter(JSON.parse(msg.content.toString("utf8")) as Json);
  }

  /** RabbitVnfmSender.sendCommand: convertSendAndReceive("openbaton-exchange", endpoint, json). */
  async sendToVnfm(endpointType: string, message: Json, timeoutMs = 60000): Promise<Json | null> {
    return this.sendRawToVnfm(endpointType, JSON.stringify(message), String(message.action), timeoutMs);
  }

  /** Sends any body (e.g. not JSON) the way sendToVnfm sends a message, and waits for the reply. */
  async sendRawToVnfm(
    endpointType: string,
    body: string,
    action: string,
    timeoutMs = 60000,
  ): Promise<Json | null> {
    const endpoint = this.endpoints.get(endpointType);
    if (endpoint === undefined || !endpoint.enabled || !endpoint.active) {
      throw new Error(
        `VNFManager with endpoint: ${endpointType} is not registered or not enabled or not active.`,
      );
    }
    const ch = this.vnfmChannel;
    if (ch === undefined) throw new Error("NFVO emulator not started");
    const correlationId = randomUUID();
    this.traffic.push({ direction: "to-vnfm", action, body: parseOrRaw(body) });
    const answer = new Promise<Json | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new Error(`the VNFM did not answer ${action} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
    ch.publish(OPENBATON_EXCHANGE, endpoint.endpoint, Buffer.from(body, "utf8"), {
      correlationId,
      replyTo: "amq.rabbitmq.reply-to",
    });
    const reply = await answer;
    this.traffic.push({
      direction: "from-vnfm",
      action: typeof reply?.action === "string" ? reply.action : "null",
      body: reply ?? {},
    });
    return reply;
  }

  // ------------------------------------------------------------------------------------------ VNFM → NFVO RPC

  private async onVnfmRpc(ch: Channel, msg: ConsumeMessage | null): Promise<void> {
    if (msg === null) return;
    let body: Json;
    try {
      body = JSON.parse(msg.content.toString("utf8")) as Json;
    } catch {
      return; // the NFVO's Gson throws; no answer
    }
    this.traffic.push({ direction: "from-vnfm", action: String(body.action), body });
    let reply: Json | null | undefined;
    try {
      switch (body.action) {
        case "UPDATEVNFR":
          reply = this.updateVnfr(body);
          break;
        case "GRANT_OPERATION":
          reply = await this.grant(body);
          break;
        case "ALLOCATE_RESOURCES":
          reply = await this.allocateResources(body);
          break;
        case "SCALING":
          reply = await this.scaling(body);
          break;
        default:
          reply = { action: "ERROR", message: `the emulator does not handle ${String(body.action)}` };
      }
    } catch (e) {
      reply = { action: "ERROR", vnfr: body.virtualNetworkFunctionRecord, message: (e as Error).message };
    }
    if (reply === undefined) return; // the NFVO's listener threw: no answer at all
    this.traffic.push({
      direction: "to-vnfm",
      action: typeof reply?.action === "string" ? reply.action : "null",
      body: reply ?? {},
    });
    const replyTo = msg.properties.replyTo as string | undefined;
    if (replyTo) {
      ch.sendToQueue(replyTo, Buffer.from(JSON.stringify(reply), "utf8"), {
        correlationId: msg.properties.correlationId as string | undefined,
      });
    }
  }

  /** Records the NFVO updated on a VNFM's UPDATEVNFR (UpdatevnfrTask), oldest first: the saved record each time. */
  readonly updates: Json[] = [];

  /**
   * UPDATEVNFR (VnfStateHandler: a returning task; UpdatevnfrTask, update-vnfr.ts): the record merged into the
   * stored one and saved, answered `{action: "UPDATEVNFR", vnfr}` (OrVnfmGenericMessage). A record of no known NSR
   * is answered `null`; a failing merge too, after the NFVO's own ERROR to the VNFM (genericExceptionHandling);
   * an unreadable message or an endpoint no VNFM registered gets no answer (the listener throws).
   */
  private updateVnfr(body: Json): Json | null | undefined {
    let incoming: Json | undefined;
    try {
      incoming = readUpdateVnfr(body);
    } catch {
      return undefined;
    }
    if (incoming === undefined) return undefined;
    const nsr = this.nsrs.get(String(incoming.parent_ns_id));
    if (nsr === undefined) return null;
    const endpoint = [...this.endpoints.values()].find((e) => e.type === incoming.endpoint);
    if (endpoint === undefined) return undefined;
    const stored = [...nsr.vnfrs.values()].find((v) => v.id === incoming.id);
    try {
      if (stored === undefined) throw new Error("java.lang.NullPointerException: vnfrRepository.findOne");
      const saved = updateVnfr(stored, incoming);
      const history = Array.isArray(saved.lifecycle_event_history) ? saved.lifecycle_event_history : [];
      saved.lifecycle_event_history = [
        ...history,
        {
          event: "UPDATE",
          description: "The VNFR was correctly updated",
          executed_in: new Date().toISOString(),
        },
      ];
      nsr.vnfrs.set(String(saved.name), saved);
      nsr.status = [...nsr.vnfrs.values()].every((v) => v.status === "ACTIVE") ? "ACTIVE" : "ERROR";
      this.updates.push(structuredClone(saved));
      return { action: "UPDATEVNFR", vnfr: saved };
    } catch (e) {
      const message = (e as Error).message;
      nsr.errors.push(message);
      void this.sendToVnfm(endpoint.type, { action: "ERROR", vnfr: incoming, message }).catch(
        () => undefined,
      );
      return null;
    }
  }

  private nsrOf(vnfr: Json): NsrRecord {
    const nsr = this.nsrs.get(String(vnfr.parent_ns_id));
    if (nsr === undefined)
      throw new Error(`no NSR ${String(vnfr.parent_ns_id)} for VNFR ${String(vnfr.name)}`);
    return nsr;
  }

  /** GrantoperationTask: ids, VIM per VDU (refreshed), image check by tag, networks created for missing VLs. */
  private async grant(body: Json): Promise<Json> {
    const vnfr = structuredClone(body.virtualNetworkFunctionRecord) as Json;
    if (!isObject(vnfr)) throw new Error("GRANT_OPERATION without virtualNetworkFunctionRecord");
    const nsr = this.nsrOf(vnfr);
    vnfr.id = randomUUID();
    vnfr.hbVersion = 0;
    const vduVim: Json = {};
    for (const vdu of list(vnfr.vdu)) {
      vdu.id = randomUUID();
      for (const c of list(vdu.vnfc)) {
        c.id = randomUUID();
        for (const cp of list(c.connection_point)) cp.id = randomUUID();
      }
      const names = Array.isArray(vdu.vimInstanceName) ? (vdu.vimInstanceName as string[]) : [];
      const vimName = names[0];
      if (vimName === undefined) throw new Error(`VDU ${String(vdu.parent_vdu)} has no VIM instance`);
      let vim: StoredVim = await this.refresh(vimName);
      const images = (vim.images ?? []).flatMap((i) => i.tags ?? []);
      const wanted = Array.isArray(vdu.vm_image) ? (vdu.vm_image as string[]) : [];
      if (!wanted.some((w) => images.includes(w))) {
        throw new Error(
          `None of the images ${JSON.stringify(wanted)} was found on the chosen VIM instance ${vimName}`,
        );
      }
      for (const c of list(vdu.vnfc)) {
        for (const cp of list(c.connection_point)) {
          const vl = String(cp.virtual_link_reference);
          let net = (vim.networks ?? []).find((n) => n.name === vl || n.extId === vl);
          if (net === undefined) {
            net = (await this.call(
              vim,
              "createNetwork",
              [{ name: vl, hbVersion: 0, shared: false }],
              "BaseNetwork",
            )) as Json;
            vim = await this.refresh(vimName);
          }
          cp.virtual_link_reference_id = net.extId;
        }
      }
      vduVim[vdu.id as string] = vim;
      nsr.vims.set(vdu.id as string, vimName);
    }
    vnfr.status = "NULL";
    nsr.vnfrs.set(String(vnfr.name), vnfr);
    return { action: "GRANT_OPERATION", grantAllowed: true, vduVim, virtualNetworkFunctionRecord: vnfr };
  }

  /** AllocateresourcesTask → ResourceManagement.allocate → GenericVIM.allocate for every VNFC of every VDU. */
  private async allocateResources(body: Json): Promise<Json> {
    const vnfr = structuredClone(body.virtualNetworkFunctionRecord) as Json;
    const nsr = this.nsrOf(vnfr);
    if (typeof body.userdata !== "string") {
      throw new Error(
        "java.lang.NullPointerException: userdata.replace (ALLOCATE_RESOURCES without userdata)",
      );
    }
    if (!Array.isArray(body.keyPairs)) {
      throw new Error(
        "java.lang.NullPointerException: new HashSet<>(keyPairs) (ALLOCATE_RESOURCES without keyPairs)",
      );
    }
    const addresses: string[] = [];
    for (const vdu of list(vnfr.vdu)) {
      const instances: Json[] = [];
      for (const component of list(vdu.vnfc)) {
        try {
          const placed = await this.allocateComponent(
            nsr,
            vnfr,
            vdu,
            component,
            body.userdata,
            body.keyPairs,
          );
          addresses.push(...placed.addresses);
          instances.push(placed.instance);
        } catch (e) {
          vnfr.status = "ERROR";
          const message = e instanceof PluginException ? e.message : (e as Error).message;
          return { action: "ERROR", vnfr, message };
        }
      }
      vdu.vnfc_instance = instances;
    }
    vnfr.vnf_address = addresses;
    nsr.vnfrs.set(String(vnfr.name), vnfr);
    return { action: "ALLOCATE_RESOURCES", vnfr };
  }

  /**
   * ResourceManagement.allocate for one VNFC component: GenericVIM.allocate on the VIM granted for its VDU, with
   * the VDU's first image that VIM has; the VNFC instance record built from the Server, and its addresses.
   */
  private async allocateComponent(
    nsr: NsrRecord,
    vnfr: Json,
    vdu: Json,
    component: Json,
    userdata: string,
    keys: unknown[],
  ): Promise<{ instance: Json; addresses: string[] }> {
    const vimName = nsr.vims.get(String(vdu.id));
    if (vimName === undefined) throw new Error(`no VIM granted for VDU ${String(vdu.id)}`);
    const vim = this.vims.get(vimName) as StoredVim;
    const tags = (vim.images ?? []).flatMap((i) => i.tags ?? []);
    const image = (vdu.vm_image as string[]).find((w) => tags.includes(w)) as string;
    const inst = await this.allocate(vimName, {
      vnfrName: String(vnfr.name),
      vmImage: image,
      connectionPoints: list(component.connection_point) as Array<Json & { virtual_link_reference: string }>,
      userdata,
      keys,
    });
    const { server: _server, vnf_address, ...record } = inst;
    return {
      instance: {
        ...record,
        id: randomUUID(),
        vnfComponent: component,
        connection_point: component.connection_point,
      },
      addresses: vnf_address,
    };
  }

  /**
   * ScalingTask (VnfStateHandler.executeAction sets its userdata from VnfmOrScalingMessage.userData): the VNFC
   * component of the record that has no instance yet is allocated through GenericVIM.allocate (one
   * launchInstanceAndWait, `#Hostname=` replaced in the userdata); the answer is OrVnfmGenericMessage
   * `{vnfr, action: "SCALED"}`, or OrVnfmErrorMessage "Error creating VM while scale out. ..." on a VIM failure.
   */
  private async scaling(body: Json): Promise<Json> {
    const vnfr = structuredClone(body.virtualNetworkFunctionRecord) as Json;
    if (!isObject(vnfr)) throw new Error("SCALING without virtualNetworkFunctionRecord");
    const nsr = this.nsrOf(vnfr);
    if (typeof body.userData !== "string") {
      throw new Error("java.lang.NullPointerException: userdata.replace (SCALING without userData)");
    }
    for (const vdu of list(vnfr.vdu)) {
      const instances = list(vdu.vnfc_instance);
      const component = list(vdu.vnfc).find(
        (c) => !instances.some((i) => isObject(i.vnfComponent) && i.vnfComponent.id === c.id),
      );
      if (component === undefined) continue;
      try {
        const placed = await this.allocateComponent(nsr, vnfr, vdu, component, body.userData, []);
        vnfr.vnf_address = [
          ...(Array.isArray(vnfr.vnf_address) ? vnfr.vnf_address : []),
          ...placed.addresses,
        ];
        vdu.vnfc_instance = [...instances, placed.instance];
      } catch (e) {
        vnfr.status = "ACTIVE";
        const detail = e instanceof PluginException ? e.message : (e as Error).message;
        return { action: "ERROR", vnfr, message: `Error creating VM while scale out. ${detail}` };
      }
      nsr.vnfrs.set(String(vnfr.name), vnfr);
      return { action: "SCALED", vnfr };
    }
    throw new Error(`SCALING for ${String(vnfr.name)}: no VNFC component without an instance`);
  }

  // ------------------------------------------------------------------------------------------ NSR lifecycle

  /**
   * POST /api/v1/ns-records/{nsdId}: every VNFD on `vimName`. VNFRs are instantiated sources first; a VNFR with
   * `requires` gets MODIFY with its sources' values, then every VNFR gets START. Resolves with the NSR (status
   * ERROR and `errors` filled when a VNFM answered ERROR).
   */
  async deployNsr(nsdInput: Json, vimName: string, timeoutMs = 60000): Promise<NsrRecord> {
    const nsd = withIds(nsdInput) as Json;
    const nsr: NsrRecord = {
      id: randomUUID(),
      name: String(nsd.name),
      status: "NULL",
      vnfrs: new Map(),
      vims: new Map(),
      errors: [],
    };
    this.nsrs.set(nsr.id, nsr);
    const vnfds = list(nsd.vnfd);
    for (const vnfd of vnfds) {
      const type = String(vnfd.endpoint ?? vnfd.type);
      if (!this.endpoints.has(type)) {
        throw new Error(`VNFManager with endpoint: ${type} is not registered or not enabled or not active.`);
      }
    }
    const vim = this.vims.get(vimName);
    if (vim === undefined) throw new Error(`no VIM ${vimName}`);
    const requiresOf = (vnfd: Json): Record<string, string[]> => {
      const out: Record<string, string[]> = {};
      for (const [source, dep] of Object.entries(isObject(vnfd.requires) ? vnfd.requires : {})) {
        out[source] = isObject(dep) && Array.isArray(dep.parameters) ? (dep.parameters as string[]) : [];
      }
      return out;
    };
    const ordered = [...vnfds].sort(
      (a, b) => Object.keys(requiresOf(a)).length - Object.keys(requiresOf(b)).length,
    );
    for (const vnfd of ordered) {
      const vimInstances: Json = {};
      for (const vdu of list(vnfd.vdu)) vimInstances[String(vdu.id)] = [vim];
      const reply = await this.sendToVnfm(
        String(vnfd.endpoint ?? vnfd.type),
        {
          action: "INSTANTIATE",
          vnfd,
          vnfdf: list(vnfd.deployment_flavour)[0] ?? { flavour_key: "m1.small" },
          vnfInstanceName: vnfd.name,
          vlrs: list(nsd.vld).map((vl) => ({ name: vl.name, extId: vl.name })),
          extension: {
            "nsr-id": nsr.id,
            brokerIp: this.options.hostname,
            brokerPort: String(this.options.port),
          },
          vimInstances,
          keys: [],
        },
        timeoutMs,
      );
      if (!this.accept(nsr, reply, "INSTANTIATE", "INITIALIZED")) return nsr;
    }
    // DependencyManagement: targets get the sources' values (VNFC hostname and addresses), keyed by type.
    for (const vnfd of ordered) {
      const requires = requiresOf(vnfd);
      if (Object.keys(requires).length === 0) continue;
      const target = nsr.vnfrs.get(String(vnfd.name)) as Json;
      const vnfcParameters: Json = {};
      const parameters: Json = {};
      const idType: Json = {};
      for (const [sourceName, keys] of Object.entries(requires)) {
        const source = nsr.vnfrs.get(sourceName);
        if (source === undefined) throw new Error(`dependency source ${sourceName} is not part of the NSR`);
        const type = String(source.type);
        idType[sourceName] = type;
        parameters[type] = { parameters: {} };
        const perVnfc: Json = {};
        for (const vdu of list(source.vdu)) {
          for (const inst of list(vdu.vnfc_instance)) {
            const values: Record<string, string> = {};
            if (keys.includes("hostname")) values.hostname = String(inst.hostname);
            for (const ip of list(inst.ips))
              if (keys.includes(String(ip.netName))) values[String(ip.netName)] = String(ip.ip);
            for (const ip of list(inst.floatingIps)) {
              const key = `${String(ip.netName)}_floatingIp`;
              if (keys.includes(key)) values[key] = String(ip.ip);
            }
            perVnfc[String(inst.id)] = { parameters: values };
          }
        }
        vnfcParameters[type] = { parameters: perVnfc };
      }
      const vnfrd = { target: vnfd.name, parameters, vnfcParameters, idType };
      this.dependencies.set(`${nsr.id}/${String(vnfd.name)}`, vnfrd);
      const reply = await this.sendToVnfm(
        String(vnfd.endpoint ?? vnfd.type),
        { action: "MODIFY", vnfr: target, vnfrd },
        timeoutMs,
      );
      if (!this.accept(nsr, reply, "MODIFY", "INACTIVE")) return nsr;
    }
    for (const vnfd of ordered) {
      const vnfr = nsr.vnfrs.get(String(vnfd.name)) as Json;
      const reply = await this.sendToVnfm(
        String(vnfd.endpoint ?? vnfd.type),
        { action: "START", virtualNetworkFunctionRecord: vnfr },
        timeoutMs,
      );
      if (!this.accept(nsr, reply, "START", "ACTIVE")) return nsr;
    }
    nsr.status = [...nsr.vnfrs.values()].every((v) => v.status === "ACTIVE") ? "ACTIVE" : "ERROR";
    return nsr;
  }

  /** AbstractTask.changeStatus for a VNFM answer; ERROR answers go to ErrorTask. */
  private accept(nsr: NsrRecord, reply: Json | null, expected: string, status: string): boolean {
    if (reply === null || reply.action === "ERROR") {
      const exception = reply !== null && isObject(reply.exception) ? reply.exception : {};
      nsr.errors.push(
        typeof exception.detailMessage === "string"
          ? exception.detailMessage
          : "An Error Occurred in this VNFR, check the VNFM for more info",
      );
      nsr.status = "ERROR";
      const vnfr =
        reply !== null && isObject(reply.virtualNetworkFunctionRecord)
          ? reply.virtualNetworkFunctionRecord
          : undefined;
      if (vnfr !== undefined) nsr.vnfrs.set(String(vnfr.name), { ...vnfr, status: "ERROR" });
      return false;
    }
    if (reply.action !== expected)
      throw new Error(`expected ${expected} from the VNFM, got ${String(reply.action)}`);
    const vnfr = reply.virtualNetworkFunctionRecord;
    if (!isObject(vnfr)) throw new Error(`${expected} reply without virtualNetworkFunctionRecord`);
    vnfr.status = status;
    if (status === "ACTIVE")
      for (const vdu of list(vnfr.vdu)) for (const i of list(vdu.vnfc_instance)) i.state = "ACTIVE";
    nsr.vnfrs.set(String(vnfr.name), vnfr);
    return true;
  }

  /** A VNF record of the NSR and one of its VNFC instances, by `vc_id`. */
  private vnfcOf(nsr: NsrRecord, vnfrName: string, vcId: string): { vnfr: Json; vnfcInstance: Json } {
    const vnfr = nsr.vnfrs.get(vnfrName);
    if (vnfr === undefined) throw new Error(`no VNFR ${vnfrName} in NSR ${nsr.id}`);
    const vnfcInstance = list(vnfr.vdu)
      .flatMap((vdu) => list(vdu.vnfc_instance))
      .find((i) => i.vc_id === vcId);
    if (vnfcInstance === undefined) throw new Error(`VNFR ${vnfrName} has no VNFC instance ${vcId}`);
    return { vnfr, vnfcInstance };
  }

  /**
   * The heal action on one VNFC instance (what the fault-management system asks the NFVO for through
   * `POST .../vnfcinstances/{id}/actions`, action `heal`): OrVnfmHealVNFRequestMessage
   * `{action: "HEAL", virtualNetworkFunctionRecord, vnfcInstance, cause}` (docs/openbaton-protocol.md §6) to the VNFR's VNFM endpoint.
   * HealTask keeps the VNFR of the VnfmOrHealedMessage answer (its VNFC instances with their new `vc_id` and
   * `state`); an ERROR answer goes to ErrorTask.
   */
  async healVnfc(
    nsr: NsrRecord,
    vnfrName: string,
    vcId: string,
    cause: string,
    timeoutMs = 60000,
  ): Promise<Json | null> {
    const { vnfr, vnfcInstance } = this.vnfcOf(nsr, vnfrName, vcId);
    const reply = await this.sendToVnfm(
      String(vnfr.endpoint ?? vnfr.type),
      { action: "HEAL", virtualNetworkFunctionRecord: vnfr, vnfcInstance, cause },
      timeoutMs,
    );
    if (reply === null || reply.action === "ERROR") {
      this.accept(nsr, reply, "HEAL", "ERROR");
      return reply;
    }
    if (reply.action !== "HEAL") throw new Error(`expected HEAL from the VNFM, got ${String(reply.action)}`);
    const healed = reply.virtualNetworkFunctionRecord;
    if (!isObject(healed)) throw new Error("HEAL reply without virtualNetworkFunctionRecord");
    const all = list(healed.vdu).flatMap((vdu) => list(vdu.vnfc_instance));
    healed.status = all.every((i) => i.state === "ACTIVE") ? "ACTIVE" : "ERROR";
    nsr.vnfrs.set(String(healed.name), healed);
    nsr.status = [...nsr.vnfrs.values()].every((v) => v.status === "ACTIVE") ? "ACTIVE" : "ERROR";
    return reply;
  }

  /**
   * POST .../vnfcinstances/{vnfc}/stop or /start (NetworkServiceRecordManagement.stopVNFCInstance /
   * startVNFCInstance): OrVnfmStartStopMessage `{action, virtualNetworkFunctionRecord, vnfcInstance}` to the VNFM.
   * StopTask / StartTask keep the record of the VnfmOrStartStopMessage answer (AbstractTask.changeStatus: STOP →
   * INACTIVE, START → ACTIVE); an ERROR answer goes to ErrorTask.
   */
  async startStopVnfc(
    nsr: NsrRecord,
    vnfrName: string,
    action: "START" | "STOP",
    vcId: string,
    timeoutMs = 60000,
  ): Promise<Json | null> {
    const { vnfr, vnfcInstance } = this.vnfcOf(nsr, vnfrName, vcId);
    const reply = await this.sendToVnfm(
      String(vnfr.endpoint ?? vnfr.type),
      { action, virtualNetworkFunctionRecord: vnfr, vnfcInstance },
      timeoutMs,
    );
    if (reply === null || reply.action === "ERROR") {
      this.accept(nsr, reply, action, "ERROR");
      return reply;
    }
    if (reply.action !== action)
      throw new Error(`expected ${action} from the VNFM, got ${String(reply.action)}`);
    const record = reply.virtualNetworkFunctionRecord;
    if (!isObject(record)) throw new Error(`${action} reply without virtualNetworkFunctionRecord`);
    record.status = action === "STOP" ? "INACTIVE" : "ACTIVE";
    nsr.vnfrs.set(String(record.name), record);
    return reply;
  }

  /**
   * POST /api/v1/ns-records/{id}/vnfrecords/{vnfr}/vdunits/vnfcinstances (NetworkServiceRecordManagement
   * .addVNFCInstance → VnfmManager.addVnfc): refused when the VDU already has `scale_in_out` instances; otherwise
   * a new VNFComponent (the first component's connection points, new ids) joins the VDU and OrVnfmScalingMessage
   * `{action: "SCALE_OUT", virtualNetworkFunctionRecord, component, extension, dependency}` goes to the VNFM, which
   * asks back with SCALING (see scaling()). Its SCALED answer (VnfmOrScaledMessage: record + vnfcInstance) is
   * ScaledTask's: the record is kept, ACTIVE. `dependency` is what MODIFY carried for this target, if any.
   */
  async scaleOut(nsr: NsrRecord, vnfrName: string, timeoutMs = 60000): Promise<Json | null> {
    const vnfr = nsr.vnfrs.get(vnfrName);
    if (vnfr === undefined) throw new Error(`no VNFR ${vnfrName} in NSR ${nsr.id}`);
    const vdu = list(vnfr.vdu)[0];
    if (vdu === undefined) throw new Error(`VNFR ${vnfrName} has no VDU`);
    const limit = typeof vdu.scale_in_out === "number" ? vdu.scale_in_out : 1;
    if (list(vdu.vnfc_instance).length >= limit) {
      throw new Error(`The VDU ${String(vdu.id)} reached the maximum number of VNFC instances (${limit})`);
    }
    const template = list(vdu.vnfc)[0] ?? {};
    const component: Json = {
      id: randomUUID(),
      connection_point: list(template.connection_point).map((cp) => ({
        ...structuredClone(cp),
        id: randomUUID(),
      })),
    };
    vdu.vnfc = [...list(vdu.vnfc), component];
    const dependency = this.dependencies.get(`${nsr.id}/${vnfrName}`);
    const reply = await this.sendToVnfm(
      String(vnfr.endpoint ?? vnfr.type),
      {
        action: "SCALE_OUT",
        virtualNetworkFunctionRecord: vnfr,
        component,
        extension: {
          "nsr-id": nsr.id,
          brokerIp: this.options.hostname,
          brokerPort: String(this.options.port),
        },
        ...(dependency === undefined ? {} : { dependency }),
      },
      timeoutMs,
    );
    if (!this.accept(nsr, reply, "SCALED", "ACTIVE")) return reply;
    nsr.status = [...nsr.vnfrs.values()].every((v) => v.status === "ACTIVE") ? "ACTIVE" : "ERROR";
    return reply;
  }

  /**
   * DELETE /api/v1/ns-records/{id}/vnfrecords/{vnfr}/vdunits/{vdu}/vnfcinstances/{vnfc} [derived]: refused for the
   * last instance of a VDU; OrVnfmScalingMessage `{action: "SCALE_IN", virtualNetworkFunctionRecord, vnfcInstance}`
   * to the VNFM (VnfmManager.removeVnfcDependency), then deleteServerByIdAndWait through the VIM driver, and the
   * instance and its component leave the record.
   */
  async scaleIn(nsr: NsrRecord, vnfrName: string, vcId: string, timeoutMs = 60000): Promise<void> {
    const vnfr = nsr.vnfrs.get(vnfrName);
    if (vnfr === undefined) throw new Error(`no VNFR ${vnfrName} in NSR ${nsr.id}`);
    const vdu = list(vnfr.vdu).find((v) => list(v.vnfc_instance).some((i) => i.vc_id === vcId));
    if (vdu === undefined) throw new Error(`VNFR ${vnfrName} has no VNFC instance ${vcId}`);
    const instances = list(vdu.vnfc_instance);
    if (instances.length <= 1)
      throw new Error(`the last VNFC instance of VDU ${String(vdu.id)} cannot be removed`);
    const vnfcInstance = instances.find((i) => i.vc_id === vcId) as Json;
    await this.sendToVnfm(
      String(vnfr.endpoint ?? vnfr.type),
      { action: "SCALE_IN", virtualNetworkFunctionRecord: vnfr, vnfcInstance },
      timeoutMs,
    );
    const vimName = nsr.vims.get(String(vdu.id));
    if (vimName !== undefined) await this.release(vimName, vcId);
    vdu.vnfc_instance = instances.filter((i) => i !== vnfcInstance);
    const componentId = isObject(vnfcInstance.vnfComponent) ? vnfcInstance.vnfComponent.id : undefined;
    vdu.vnfc = list(vdu.vnfc).filter((c) => c.id !== componentId);
  }

  /** DELETE /api/v1/ns-records/{id}: RELEASE_RESOURCES per VNFR, then deleteServerByIdAndWait per VNFC. */
  async releaseNsr(nsr: NsrRecord, timeoutMs = 60000): Promise<void> {
    for (const vnfr of nsr.vnfrs.values()) {
      if (vnfr.id === undefined) continue;
      const reply = await this.sendToVnfm(
        String(vnfr.endpoint ?? vnfr.type),
        { action: "RELEASE_RESOURCES", vnfr },
        timeoutMs,
      );
      if (reply === null || reply.action !== "RELEASE_RESOURCES") {
        throw new Error(`RELEASE_RESOURCES answered ${JSON.stringify(reply)}`);
      }
      for (const vdu of list(vnfr.vdu)) {
        const vimName = nsr.vims.get(String(vdu.id));
        for (const inst of list(vdu.vnfc_instance)) {
          if (vimName !== undefined) await this.release(vimName, String(inst.vc_id));
        }
      }
      vnfr.status = "TERMINATED";
    }
    nsr.status = "TERMINATED";
    this.nsrs.delete(nsr.id);
    for (const key of [...this.dependencies.keys()])
      if (key.startsWith(`${nsr.id}/`)) this.dependencies.delete(key);
  }
}
