import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import amqp, { type ChannelModel, type Options } from "amqplib";
import { IotFogError, errorMessage, parseWith } from "@openiotfog/shared";
import {
  OPENBATON_EXCHANGE,
  REGISTRATION_QUEUE,
  managerCredentialsSchema,
  type ManagerCredentials,
} from "./protocol";

export interface BrokerAddress {
  /** `amqp://host:port` (credentials in the URL are ignored: each connection says who it is). */
  brokerUrl: string;
  vhost: string;
  heartbeatSeconds: number;
  /** PEM of the CA an `amqps://` broker's certificate is checked against (instead of the system's CAs). */
  ca?: string | undefined;
}

/** The PEM of `openbaton.caFile`, read when the driver is built (a wrong path stops it at start). */
export function readBrokerCa(caFile: string | undefined): string | undefined {
  if (caFile === undefined) return undefined;
  try {
    return readFileSync(caFile, "utf8");
  } catch (e) {
    throw new IotFogError("CONFIG_INVALID", `openbaton.caFile: cannot read ${caFile}: ${errorMessage(e)}`);
  }
}

/** Connection options for one user on the configured broker and vhost. */
export function connectOptions(broker: BrokerAddress, username: string, password: string): Options.Connect {
  const url = new URL(broker.brokerUrl);
  const protocol = url.protocol.replace(/:$/, "");
  return {
    protocol,
    hostname: url.hostname,
    port: url.port === "" ? (protocol === "amqps" ? 5671 : 5672) : Number(url.port),
    username,
    password,
    vhost: broker.vhost,
    heartbeat: broker.heartbeatSeconds,
  };
}

/**
 * Socket options of every AMQP connection: Nagle off (as the NFVO's Java client does by default), else small
 * request / reply frames wait for delayed ACKs (~40 ms per round trip on Linux); over amqps, the configured CA.
 */
export function socketOptions(broker: BrokerAddress): { noDelay: true; ca?: string[] } {
  return { noDelay: true, ...(broker.ca === undefined ? {} : { ca: [broker.ca] }) };
}

/** A readable name for logs: never includes credentials. */
export function describeBroker(broker: BrokerAddress): string {
  const url = new URL(broker.brokerUrl);
  return `${url.protocol}//${url.host} vhost ${broker.vhost}`;
}

/** Closes a connection that may already be gone. */
export async function closeQuietly(conn: ChannelModel | undefined): Promise<void> {
  if (conn === undefined) return;
  try {
    await conn.close();
  } catch {
    // Already closed by the broker (e.g. after a failed passive declare); nothing to release.
  }
}

/**
 * One registration attempt (docs/openbaton-protocol.md §2): connect as the registration user,
 * check that the NFVO's exchange and queue exist, ask for credentials on a server-named reply queue and wait
 * up to `timeoutMs`. Throws UNAVAILABLE when the NFVO is not there yet, TIMEOUT when it did not answer.
 */
export async function registerPlugin(
  broker: BrokerAddress,
  registration: { username: string; password: string },
  type: string,
  timeoutMs: number,
  /** More fields of the register message (a VNFM sends its `vnfmManagerEndpoint`). */
  extra: Record<string, unknown> = {},
): Promise<ManagerCredentials> {
  let conn: ChannelModel | undefined;
  try {
    try {
      conn = await amqp.connect(
        connectOptions(broker, registration.username, registration.password),
        socketOptions(broker),
      );
    } catch (e) {
      throw new IotFogError(
        "UNAVAILABLE",
        `cannot connect to RabbitMQ as the registration user at ${describeBroker(broker)}: ${errorMessage(e)}`,
      );
    }
    conn.on("error", () => undefined);
    const ch = await conn.createChannel();
    ch.on("error", () => undefined);
    try {
      await ch.checkExchange(OPENBATON_EXCHANGE);
      await ch.checkQueue(REGISTRATION_QUEUE);
    } catch (e) {
      throw new IotFogError(
        "UNAVAILABLE",
        `the NFVO is not ready (${OPENBATON_EXCHANGE} / ${REGISTRATION_QUEUE} missing): ${errorMessage(e)}`,
      );
    }
    const replyCh = await conn.createChannel();
    replyCh.on("error", () => undefined);
    // Server-named: the registration user may only configure amq.gen-* queues.
    const { queue } = await replyCh.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
    const correlationId = randomUUID();
    const answer = new Promise<string>((resolve) => {
      void replyCh.consume(
        queue,
        (msg) => {
          if (msg !== null && msg.properties.correlationId === correlationId)
            resolve(msg.content.toString("utf8"));
        },
        { noAck: true },
      );
    });
    replyCh.publish(
      OPENBATON_EXCHANGE,
      REGISTRATION_QUEUE,
      Buffer.from(JSON.stringify({ ...extra, type, action: "register" }), "utf8"),
      { correlationId, replyTo: queue, contentType: "text/plain" },
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new IotFogError(
              "TIMEOUT",
              `the NFVO did not answer the registration of ${type} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      const body = await Promise.race([answer, timeout]);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new IotFogError(
          "PROTOCOL_ERROR",
          `the NFVO answered the registration with non-JSON: ${body.slice(0, 200)}`,
        );
      }
      const creds = parseWith(
        managerCredentialsSchema,
        json,
        "registration answer (ManagerCredentials)",
        "PROTOCOL_ERROR",
      );
      return { rabbitUsername: creds.rabbitUsername, rabbitPassword: creds.rabbitPassword };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await closeQuietly(conn);
  }
}

/**
 * Tells the NFVO we are leaving (docs/openbaton-protocol.md §2): the NFVO then deletes our RabbitMQ user. Nothing is sent
 * back. Sent with the registration user, because our own user disappears as the NFVO processes it.
 */
export async function deregisterPlugin(
  broker: BrokerAddress,
  registration: { username: string; password: string },
  credentials: ManagerCredentials,
  extra: Record<string, unknown> = {},
): Promise<void> {
  let conn: ChannelModel | undefined;
  try {
    conn = await amqp.connect(
      connectOptions(broker, registration.username, registration.password),
      socketOptions(broker),
    );
    conn.on("error", () => undefined);
    const ch = await conn.createConfirmChannel();
    ch.on("error", () => undefined);
    const body = JSON.stringify({
      ...extra,
      username: credentials.rabbitUsername,
      action: "deregister",
      password: credentials.rabbitPassword,
    });
    await new Promise<void>((resolve, reject) => {
      ch.publish(
        OPENBATON_EXCHANGE,
        REGISTRATION_QUEUE,
        Buffer.from(body, "utf8"),
        { contentType: "text/plain" },
        (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
      );
    });
  } finally {
    await closeQuietly(conn);
  }
}
