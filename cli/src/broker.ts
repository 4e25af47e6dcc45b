import { readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { createBroker, type AuthenticateError, type Client } from "aedes";
import type Aedes from "aedes";
import {
  IotFogError,
  errorMessage,
  isLoopbackHost,
  readSecretFileSync,
  type Component,
  type Logger,
} from "@openiotfog/shared";
import type * as VimDriver from "@openiotfog/vim-driver";

/** The fleet's rules for the embedded broker (security on): who logs in, who publishes and subscribes where. */
export interface EmbeddedBrokerSecurity {
  /** The driver's security.dir (the fleet identity, its MQTT CA). */
  fleetDir: string;
  /** The fleet's mqtt.topicPrefix. */
  prefix: string;
}

/** The broker's URL: TLS when it listens beyond loopback; clients on this machine use loopback. */
export function embeddedBrokerUrl(host: string, port: number): string {
  const local = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `${isLoopbackHost(host) ? "mqtt" : "mqtts"}://${local.includes(":") ? `[${local}]` : local}:${port}`;
}

/** aedes' CONNACK codes for a refused login (its AuthErrorCode is a const enum, not importable at run time). */
const BAD_USERNAME_OR_PASSWORD = 4;

/**
 * An embedded MQTT broker (aedes) for a single machine, so `iotfog up` needs no Mosquitto. With the fleet's
 * security it enforces what the generated Mosquitto configuration does (docs/security.md, "MQTT"): no anonymous
 * client, the driver and enrolled nodes with their passwords, a node publishes only under its own topics, and a
 * revoked or re-enrolled node's session ends. Bound beyond loopback it serves TLS only, with a certificate from
 * the fleet CA; without security it refuses such a bind.
 */
export class EmbeddedBroker implements Component {
  readonly name = "embedded-mqtt-broker";
  private broker: Aedes | undefined;
  private server: net.Server | undefined;
  private boundPort: number | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** Logged-in clients: user name and what they were admitted on (FleetBrokerAuth.credentialStamp). */
  private readonly sessions = new Map<Client, { username: string; stamp: string }>();
  private unsubscribe: (() => void) | undefined;
  /** Refused logins, publishes and subscriptions (security on). */
  readonly refused = { login: 0, publish: 0, subscription: 0 };

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly logger: Logger,
    private readonly security?: EmbeddedBrokerSecurity,
  ) {}

  get url(): string {
    return embeddedBrokerUrl(this.host, this.boundPort ?? this.port);
  }

  async start(): Promise<void> {
    const beyondLoopback = !isLoopbackHost(this.host);
    if (beyondLoopback && this.security === undefined)
      throw new IotFogError(
        "CONFIG_INVALID",
        `mqtt.embeddedHost: the embedded broker would accept anyone on ${this.host} without the fleet's security; bind it to 127.0.0.1 or turn security on`,
      );
    const broker = this.security === undefined ? createBroker() : await this.secureBroker(this.security);
    const onSocket = (socket: net.Socket): void => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      broker.handle(socket);
    };
    const server =
      beyondLoopback && this.security !== undefined
        ? tls.createServer(await this.tlsOptions(this.security), onSocket)
        : net.createServer(onSocket);
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(
          new IotFogError(
            "UNAVAILABLE",
            e.code === "EADDRINUSE"
              ? `embedded MQTT broker: port ${this.port} on ${this.host} is in use; set mqtt.embeddedPort or use that broker with --mqtt-url`
              : `embedded MQTT broker: ${e.message}`,
          ),
        ),
      );
      server.listen(this.port, this.host, () => resolve());
    });
    this.broker = broker;
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    this.logger.info("embedded MQTT broker listening", {
      url: this.url,
      auth: this.security === undefined ? "none (loopback only)" : "fleet credentials and ACL",
    });
  }

  private async secureBroker(sec: EmbeddedBrokerSecurity): Promise<Aedes> {
    // Loaded here: `iotfog agent` on a small node must not load the driver side with the CLI.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { FleetIdentity, FleetBrokerAuth } = require("@openiotfog/vim-driver") as typeof VimDriver;
    const { identity } = await FleetIdentity.open(sec.fleetDir);
    const auth = new FleetBrokerAuth(() => identity, sec.prefix);
    const refused = (
      what: "login" | "publish" | "subscription",
      client: Client | null,
      detail: Record<string, unknown>,
    ): void => {
      this.refused[what] += 1;
      this.logger.warn(`embedded MQTT broker: ${what} refused`, {
        clientId: client?.id,
        user: client === null ? undefined : this.sessions.get(client)?.username,
        ...detail,
      });
    };
    const broker = createBroker({
      authenticate: (client, username, password, done) => {
        if (!auth.authenticate(username, password)) {
          refused("login", client, { user: username ?? "(anonymous)" });
          const error = new Error("bad user name or password") as AuthenticateError;
          error.returnCode = BAD_USERNAME_OR_PASSWORD;
          done(error, false);
          return;
        }
        const user = username ?? "";
        this.sessions.set(client, { username: user, stamp: auth.credentialStamp(user) ?? "" });
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        const username = client === null ? undefined : this.sessions.get(client)?.username;
        if (auth.mayPublish(username, packet.topic)) return done(null);
        refused("publish", client, { topic: packet.topic });
        done(new Error(`${username ?? "(anonymous)"} may not publish on ${packet.topic}`));
      },
      authorizeSubscribe: (client, subscription, done) => {
        const username = this.sessions.get(client)?.username;
        if (auth.maySubscribe(username, subscription.topic)) return done(null, subscription);
        refused("subscription", client, { filter: subscription.topic });
        // MQTT answers a refused filter with a failure code in the SUBACK; the client stays connected.
        done(null, null);
      },
    });
    broker.on("clientDisconnect", (client) => this.sessions.delete(client));
    // A node revoked or re-enrolled since it logged in: its session ends (it cannot log in again).
    const recheck = (): void => {
      for (const [client, s] of this.sessions) {
        if (auth.credentialStamp(s.username) === s.stamp) continue;
        this.logger.info("embedded MQTT broker: ending a session whose credentials were withdrawn", {
          user: s.username,
        });
        this.sessions.delete(client);
        client.close();
      }
    };
    identity.on("changed", recheck);
    // The driver (another FleetIdentity over the same files) records revocations: look at the files each second.
    const poll = setInterval(() => identity.refresh(), 1000);
    poll.unref();
    this.unsubscribe = () => {
      clearInterval(poll);
      identity.off("changed", recheck);
    };
    return broker;
  }

  /** A certificate for this broker from the fleet CA (made once, kept beside the fleet identity). */
  private async tlsOptions(sec: EmbeddedBrokerSecurity): Promise<tls.TlsOptions> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { issueBrokerCertificate } = require("@openiotfog/vim-driver") as typeof VimDriver;
    const dir = path.join(sec.fleetDir, "embedded-broker");
    // Bound to every address: the certificate names each of this machine's addresses.
    const addresses =
      this.host === "0.0.0.0" || this.host === "::"
        ? Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address))
        : [this.host];
    const host = [...new Set(addresses)].map((a) => (net.isIP(a) === 0 ? `DNS:${a}` : `IP:${a}`));
    try {
      const files = await issueBrokerCertificate(sec.fleetDir, dir, [
        "DNS:localhost",
        "IP:127.0.0.1",
        ...host,
      ]);
      return { cert: readFileSync(files.cert, "utf8"), key: readSecretFileSync(files.key) };
    } catch (e) {
      throw new IotFogError("UNAVAILABLE", `embedded MQTT broker: no TLS certificate: ${errorMessage(e)}`);
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    if (server) {
      for (const socket of this.sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    this.sessions.clear();
  }
}
