import { randomBytes, randomInt, randomUUID } from "node:crypto";
import amqp, { type ChannelModel, type Options } from "amqplib";
import {
  createRabbitMqUser,
  removeRabbitMqUser,
  setRabbitMqUserPermissions,
  type ManagementAccess,
} from "./management";
import { OPENBATON_EXCHANGE, PluginCaller, type RpcTrace } from "./plugin-caller";
import type { JavaType } from "./gson";

export const REGISTRATION_QUEUE = "nfvo.manager.handling";

/** SystemStartup: what the registration user may do (server-named queues, publish to the NFVO). */
export const REGISTRATION_USER_PERMISSIONS = {
  configure: "^amq\\.gen.*|amq\\.default$",
  write: "^amq\\.gen.*|amq\\.default$|nfvo.manager.handling|openbaton-exchange",
  read: "^amq\\.gen.*|amq\\.default$|nfvo.manager.handling|openbaton-exchange",
};

/** ComponentManager.enableManager: the per-manager regexes (not anchored, dots not escaped, as the NFVO writes them). */
export function managerPermissions(type: string): { configure: string; write: string; read: string } {
  return {
    configure: `^amq\\.gen.*|amq\\.default$|(${type})|(nfvo.${type}.actions)`,
    write: `^amq\\.gen.*|amq\\.default$|(${type})|(vnfm.nfvo.actions)|(vnfm.nfvo.actions.reply)|(nfvo.${type}.actions)|(openbaton-exchange)`,
    read: `^amq\\.gen.*|amq\\.default$|(nfvo.${type}.actions)|(${type})|(openbaton-exchange)`,
  };
}

export interface NfvoEmulatorOptions {
  hostname: string;
  port: number;
  vhost: string;
  /** The NFVO's own RabbitMQ user (spring.rabbitmq.username/password); also used for the management API. */
  admin: { username: string; password: string };
  managementUrl: string;
  /** nfvo.rabbit.manager-registration-user.*; tests use a unique name because users are broker-wide. */
  registrationUser?: { name: string; password: string };
  /** nfvo.plugin.timeout (300000 shipped). */
  pluginTimeoutMs?: number;
  /** nfvo.plugin.refresh.delay (700 ms): refresh of the VIMs of a newly registered plugin's type. */
  refreshDelayMs?: number;
}

export interface ManagerCredentialsRecord {
  rabbitUsername: string;
  rabbitPassword: string;
  id: string;
  hbVersion: number;
  shared: boolean;
}

export type EmulatorEvent =
  | { kind: "register"; type: string; reused: boolean }
  | { kind: "deregister"; username: string; accepted: boolean }
  | { kind: "ignored"; reason: string; body: string }
  | { kind: "refresh-after-registration"; vim: string; error?: string };

/** A VIM instance as the NFVO stores it after `refresh`. */
export type StoredVim = Record<string, unknown> & {
  id: string;
  name: string;
  type: string;
  hbVersion: number;
  images?: Array<{ extId?: string | null; tags?: string[] | null }> | null;
  networks?: Array<Record<string, unknown>> | null;
};

/** A VNFC instance as GenericVIM.getVnfcInstance builds it from the returned Server. */
export interface VnfcInstance {
  vim_id: string;
  vc_id: string;
  hostname: string;
  state: string;
  ips: Array<{ netName: string; ip: string }>;
  floatingIps: Array<{ netName: string; ip: string }>;
  vnf_address: string[];
  /** The Server the driver returned, for tests. */
  server: Record<string, unknown>;
}

/**
 * An Open Baton NFVO, as far as a VIM driver can tell: written from docs/openbaton-protocol.md. It
 * creates the registration user with the NFVO's permissions, answers registrations on nfvo.manager.handling like
 * ComponentManager (per-manager user through the management API, stored credentials reused), handles
 * deregistration, keeps VIM instances, and calls plugins like PluginCaller / GenericVIM.
 */
export class NfvoEmulator {
  readonly events: EmulatorEvent[] = [];
  /** The NFVO database of manager credentials (ManagerCredentialsRepository). */
  readonly credentials = new Map<string, ManagerCredentialsRecord>();
  readonly vims = new Map<string, StoredVim>();
  readonly caller: PluginCaller;
  readonly registrationUser: { name: string; password: string };
  private conn: ChannelModel | undefined;
  private stopped = true;
  private reconnecting: Promise<void> | undefined;
  protected readonly management: ManagementAccess;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: NfvoEmulatorOptions) {
    this.registrationUser = opts.registrationUser ?? {
      name: "openbaton-manager-user",
      password: "openbaton",
    };
    this.management = { url: opts.managementUrl, ...opts.admin };
    this.caller = new PluginCaller({
      connect: this.connectOptions(),
      management: this.management,
      vhost: opts.vhost,
      timeoutMs: opts.pluginTimeoutMs ?? 300000,
    });
  }

  private connectOptions(): Options.Connect {
    return {
      hostname: this.opts.hostname,
      port: this.opts.port,
      username: this.opts.admin.username,
      password: this.opts.admin.password,
      vhost: this.opts.vhost,
    };
  }

  get lastTrace(): RpcTrace | undefined {
    return this.caller.lastTrace;
  }

  /** SystemStartup + RabbitConfiguration + the @RabbitListener on nfvo.manager.handling. */
  async start(): Promise<void> {
    this.stopped = false;
    await createRabbitMqUser(
      this.management,
      this.registrationUser.name,
      this.registrationUser.password,
      this.opts.vhost,
      "",
    );
    await setRabbitMqUserPermissions(
      this.management,
      this.registrationUser.name,
      this.opts.vhost,
      REGISTRATION_USER_PERMISSIONS,
    );
    await this.connect();
  }

  /** A connection as the NFVO's own user; Nagle off, as the NFVO's Java client does by default. */
  protected connectAsAdmin(): Promise<ChannelModel> {
    return amqp.connect(this.connectOptions(), { noDelay: true });
  }

  private async connect(): Promise<void> {
    const conn = await this.connectAsAdmin();
    conn.on("error", () => undefined);
    conn.on("close", () => {
      if (this.conn === conn) this.conn = undefined;
      if (!this.stopped) this.reconnecting ??= this.reconnect();
    });
    const ch = await conn.createChannel();
    ch.on("error", () => undefined);
    await ch.assertExchange(OPENBATON_EXCHANGE, "topic", { durable: true });
    await ch.assertQueue(REGISTRATION_QUEUE, { durable: true, autoDelete: true, exclusive: false });
    await ch.bindQueue(REGISTRATION_QUEUE, OPENBATON_EXCHANGE, REGISTRATION_QUEUE);
    await ch.consume(
      REGISTRATION_QUEUE,
      (msg) => {
        if (msg === null) return;
        void this.enableManager(msg.content.toString("utf8")).then((answer) => {
          const replyTo = msg.properties.replyTo as string | undefined;
          // A listener that returns null sends nothing (Spring AMQP).
          if (answer === null || !replyTo) return;
          try {
            ch.sendToQueue(replyTo, Buffer.from(answer, "utf8"), {
              correlationId: msg.properties.correlationId as string | undefined,
              contentType: "text/plain",
            });
          } catch {
            // connection gone; the plugin retries
          }
        });
      },
      { noAck: true },
    );
    this.conn = conn;
  }

  /** Spring AMQP's listener container reconnects after a broker restart and re-declares its queues. */
  private async reconnect(): Promise<void> {
    try {
      while (!this.stopped) {
        try {
          await this.connect();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 300));
        }
      }
    } finally {
      this.reconnecting = undefined;
    }
  }

  /** Stops consuming (the registration queue auto-deletes); `removeUsers` (default) cleans the broker. */
  async stop(opts: { removeUsers?: boolean } = {}): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.reconnecting;
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await conn.close().catch(() => undefined);
    if (opts.removeUsers ?? true) {
      for (const name of this.credentials.keys())
        await removeRabbitMqUser(this.management, name).catch(() => undefined);
      await removeRabbitMqUser(this.management, this.registrationUser.name).catch(() => undefined);
    }
  }

  /** A restarted NFVO with the default create-drop database. */
  forgetDatabase(): void {
    this.credentials.clear();
  }

  /** ComponentManager.enableManager: returns the reply body, or null (no reply at all). */
  async enableManager(message: string): Promise<string | null> {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(message) as Record<string, unknown>;
    } catch {
      this.events.push({ kind: "ignored", reason: "not JSON", body: message });
      return null;
    }
    if (body === null || typeof body !== "object" || !("action" in body)) {
      this.events.push({ kind: "ignored", reason: "no action", body: message });
      return null;
    }
    try {
      switch (String(body.action).toLowerCase()) {
        case "register": {
          if (!("type" in body)) {
            this.events.push({ kind: "ignored", reason: "no type", body: message });
            return null;
          }
          const username = String(body.type);
          const existing = this.credentials.get(username);
          if (existing) {
            this.events.push({ kind: "register", type: username, reused: true });
            return JSON.stringify(existing);
          }
          const record = await this.createManager(username, username); // a plugin: no vnfmManagerEndpoint
          this.events.push({ kind: "register", type: username, reused: false });
          this.scheduleRefresh(username);
          return JSON.stringify(record);
        }
        case "unregister":
        case "deregister": {
          if (!("username" in body) || !("password" in body)) return null;
          const username = String(body.username);
          const stored = this.credentials.get(username);
          if (!stored) return null;
          const accepted = String(body.password) === stored.rabbitPassword;
          this.events.push({ kind: "deregister", username, accepted });
          if (accepted) await this.removeManager(username);
          return null;
        }
        default:
          return null;
      }
    } catch (e) {
      this.events.push({ kind: "ignored", reason: (e as Error).message, body: message });
      return null;
    }
  }

  /** A new manager: its RabbitMQ user with the per-manager permissions for `type`, and stored credentials. */
  protected async createManager(username: string, type: string): Promise<ManagerCredentialsRecord> {
    const password = randomAlphanumeric(16);
    await createRabbitMqUser(this.management, username, password, this.opts.vhost);
    await setRabbitMqUserPermissions(this.management, username, this.opts.vhost, managerPermissions(type));
    const record: ManagerCredentialsRecord = {
      rabbitUsername: username,
      rabbitPassword: password,
      id: randomUUID(),
      hbVersion: 0,
      shared: false,
    };
    this.credentials.set(username, record);
    return record;
  }

  /** An accepted deregistration: the credentials and the RabbitMQ user go. */
  protected async removeManager(username: string): Promise<void> {
    this.credentials.delete(username);
    await removeRabbitMqUser(this.management, username);
  }

  /** refreshVims: only for `vim-drivers.<type>.<name>`, and only VIMs whose type equals <type> exactly. */
  private scheduleRefresh(username: string): void {
    const parts = username.split(".");
    if (parts.length !== 3 || parts[0] !== "vim-drivers") return;
    const vimType = parts[1];
    const delay = this.opts.refreshDelayMs ?? 700;
    if (delay <= 0) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      for (const vim of this.vims.values()) {
        if (vim.type !== vimType) continue;
        void this.refresh(vim.name).then(
          () => this.events.push({ kind: "refresh-after-registration", vim: vim.name }),
          (e: Error) =>
            this.events.push({ kind: "refresh-after-registration", vim: vim.name, error: e.message }),
        );
      }
    }, delay);
    this.timers.add(timer);
  }

  /** VimBroker: the plugin queue prefix of a VIM is `vim-drivers.<vim.type>`. */
  pluginPrefix(vim: { type: string }): string {
    return `vim-drivers.${vim.type}`;
  }

  /** A VimDriverCaller call with the VIM as first parameter. */
  async call(
    vim: Record<string, unknown> & { type: string },
    method: string,
    args: unknown[],
    returnType: JavaType | null,
  ): Promise<unknown> {
    return this.caller.executeRPC(this.pluginPrefix(vim), method, [vim, ...args], returnType);
  }

  /** POST /api/v1/datacenters: validate, refresh through the plugin, store what it answered. */
  async registerVim(vim: Record<string, unknown> & { name: string; type: string }): Promise<StoredVim> {
    if (!vim.name || !vim.type) throw new Error("VIM instance needs name and type");
    if ([...this.vims.values()].some((v) => v.name === vim.name))
      throw new Error(`VIM ${vim.name} already exists`);
    const refreshed = (await this.call(vim, "refresh", [], "BaseVimInstance")) as Record<string, unknown>;
    const stored = this.store({ ...refreshed, id: randomUUID(), hbVersion: 0 } as StoredVim, vim);
    return stored;
  }

  /** VimManagement.refresh: the answer must echo the VIM (same id, hbVersion, type, name...). */
  async refresh(name: string): Promise<StoredVim> {
    const vim = this.vims.get(name);
    if (!vim) throw new Error(`no VIM ${name}`);
    const refreshed = (await this.call(vim, "refresh", [], "BaseVimInstance")) as Record<string, unknown>;
    if (refreshed.hbVersion !== vim.hbVersion) {
      throw new Error(
        `optimistic lock failure: hbVersion ${String(refreshed.hbVersion)} != ${vim.hbVersion}`,
      );
    }
    return this.store({ ...(refreshed as StoredVim), hbVersion: vim.hbVersion + 1 }, vim);
  }

  private store(refreshed: StoredVim, sent: { name: string; type: string }): StoredVim {
    for (const key of ["name", "type"] as const) {
      if (refreshed[key] !== sent[key]) throw new Error(`refresh changed ${key}: ${String(refreshed[key])}`);
    }
    if (!Array.isArray(refreshed.images) || !Array.isArray(refreshed.networks)) {
      throw new Error("refresh answer needs images and networks arrays (NullPointerException later)");
    }
    for (const n of refreshed.networks) {
      if (typeof n.name !== "string" || typeof n.extId !== "string") {
        throw new Error("every network needs name and extId (VimInstanceUtils.isVLRExisting)");
      }
    }
    this.vims.set(refreshed.name, refreshed);
    return refreshed;
  }

  /**
   * GenericVIM.allocate + getVnfcInstance for one VNFC: hostname `<vnfr>-<random>`, image extId matched by tag,
   * `#Hostname=` replaced in userdata, one floating-IP entry per CP, then the Server turned into a VNFC record
   * (with the same NullPointer / NoSuchElement traps as the NFVO).
   */
  async allocate(
    vimName: string,
    vnfc: {
      vnfrName: string;
      vmImage: string;
      connectionPoints: Array<
        Record<string, unknown> & { virtual_link_reference: string; floatingIp?: string }
      >;
      userdata: string;
      keys?: unknown[];
    },
  ): Promise<VnfcInstance> {
    const vim = this.vims.get(vimName);
    if (!vim) throw new Error(`no VIM ${vimName}`);
    const image = (vim.images ?? []).find((i) => (i.tags ?? []).includes(vnfc.vmImage));
    if (!image?.extId) {
      throw new Error(`None of the images [${vnfc.vmImage}] was found on the chosen VIM instance ${vimName}`);
    }
    const hostname = `${vnfc.vnfrName}-${randomInt(0, 10000000)}`;
    const userdata = vnfc.userdata.replace("#Hostname=", `Hostname=${hostname}`);
    const floatingIps: Record<string, string> = {};
    for (const cp of vnfc.connectionPoints) {
      if (cp.floatingIp !== undefined && cp.floatingIp !== null)
        floatingIps[cp.virtual_link_reference] = cp.floatingIp;
    }
    const server = (await this.call(
      vim,
      "launchInstanceAndWait",
      [hostname, image.extId, "", "", vnfc.connectionPoints, [], userdata, floatingIps, vnfc.keys ?? []],
      "Server",
    )) as Record<string, unknown>;
    return vnfcInstanceFrom(vim.id, server, vnfc.connectionPoints.length);
  }

  /** deleteServerByIdAndWait: void, so the NFVO publishes and returns at once. */
  async release(vimName: string, vcId: string): Promise<void> {
    const vim = this.vims.get(vimName);
    if (!vim) throw new Error(`no VIM ${vimName}`);
    await this.call(vim, "deleteServerByIdAndWait", [vcId], null);
  }
}

/** getVnfcInstance with the NFVO's failure modes on a malformed Server. */
export function vnfcInstanceFrom(
  vimId: string,
  server: Record<string, unknown>,
  cpCount: number,
): VnfcInstance {
  const ips = server.ips as Record<string, string[] | null> | null | undefined;
  if (ips === null || ips === undefined) throw new Error("java.lang.NullPointerException: server.getIps()");
  const out: VnfcInstance = {
    vim_id: vimId,
    vc_id: typeof server.extId === "string" ? server.extId : "unknown",
    hostname: String(server.hostName),
    state: String(server.status),
    ips: [],
    floatingIps: [],
    vnf_address: [],
    server,
  };
  for (const [netName, list] of Object.entries(ips)) {
    if (list === null) throw new Error(`java.lang.NullPointerException: ips[${netName}]`);
    const first = list[0];
    if (first === undefined) throw new Error(`java.util.NoSuchElementException: ips[${netName}] is empty`);
    out.ips.push({ netName, ip: first });
    out.vnf_address.push(...list);
  }
  if (cpCount > 0) {
    const fips = server.floatingIps as Record<string, string> | null | undefined;
    if (fips === null || fips === undefined)
      throw new Error("java.lang.NullPointerException: server.getFloatingIps()");
    for (const [netName, ip] of Object.entries(fips)) out.floatingIps.push({ netName, ip });
  }
  return out;
}

function randomAlphanumeric(n: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(n);
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
