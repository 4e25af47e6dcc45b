/**
 * The NFVO's use of the RabbitMQ management HTTP API (openbaton/NFVO RabbitManager): list queues to find
 * plugins, create / delete users and set their permissions. The NFVO acts as its own admin user.
 */
export interface ManagementAccess {
  /** e.g. http://127.0.0.1:15672 */
  url: string;
  username: string;
  password: string;
}

function auth(m: ManagementAccess): string {
  return `Basic ${Buffer.from(`${m.username}:${m.password}`).toString("base64")}`;
}

/** The NFVO encodes the vhost with `vhost.replace("/", "%2f")`; other characters go through as they are. */
export function nfvoVhostPath(vhost: string): string {
  return encodeURIComponent(vhost);
}

async function request(
  m: ManagementAccess,
  method: "GET" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${m.url}${path}`, {
    method,
    headers: {
      authorization: auth(m),
      accept: "application/json",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, text: await res.text() };
}

/** `RabbitManager.getQueues`: names of every queue of the vhost. */
export async function getQueues(m: ManagementAccess, vhost: string): Promise<string[]> {
  const res = await request(m, "GET", `/api/queues/${nfvoVhostPath(vhost)}`);
  if (res.status !== 200) throw new Error(`GET /api/queues: HTTP ${res.status} ${res.text.slice(0, 200)}`);
  const array = JSON.parse(res.text) as Array<{ name: string }> | null;
  return (array ?? []).map((q) => q.name);
}

/** `RabbitManager.createRabbitMqUser`: 201 (created) and 204 (already existed) are both fine. */
export async function createRabbitMqUser(
  m: ManagementAccess,
  name: string,
  password: string,
  vhost: string,
  tags = "administrator",
): Promise<void> {
  const res = await request(m, "PUT", `/api/users/${encodeURIComponent(name)}`, { password, tags, vhost });
  if (res.status !== 201 && res.status !== 204) {
    throw new Error(`Error creating RabbitMQ user ${name}: HTTP ${res.status} ${res.text}`);
  }
}

export async function setRabbitMqUserPermissions(
  m: ManagementAccess,
  name: string,
  vhost: string,
  permissions: { configure: string; write: string; read: string },
): Promise<void> {
  const res = await request(
    m,
    "PUT",
    `/api/permissions/${nfvoVhostPath(vhost)}/${encodeURIComponent(name)}`,
    permissions,
  );
  if (res.status !== 201 && res.status !== 204) {
    throw new Error(`Error setting permissions of RabbitMQ user ${name}: HTTP ${res.status} ${res.text}`);
  }
}

export async function removeRabbitMqUser(m: ManagementAccess, name: string): Promise<void> {
  const res = await request(m, "DELETE", `/api/users/${encodeURIComponent(name)}`);
  if (res.status !== 204 && res.status !== 404) {
    throw new Error(`Error removing RabbitMQ user ${name}: HTTP ${res.status}`);
  }
}

/** Details of one queue (flags, consumers) for assertions; undefined when it does not exist. */
export async function getQueue(
  m: ManagementAccess,
  vhost: string,
  name: string,
): Promise<
  | {
      name: string;
      durable: boolean;
      exclusive: boolean;
      auto_delete: boolean;
      consumers?: number;
    }
  | undefined
> {
  const res = await request(m, "GET", `/api/queues/${nfvoVhostPath(vhost)}/${encodeURIComponent(name)}`);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET queue ${name}: HTTP ${res.status}`);
  return JSON.parse(res.text) as {
    name: string;
    durable: boolean;
    exclusive: boolean;
    auto_delete: boolean;
    consumers?: number;
  };
}

/** Bindings of a queue, to check it is bound to openbaton-exchange under its own name. */
export async function getQueueBindings(
  m: ManagementAccess,
  vhost: string,
  name: string,
): Promise<Array<{ source: string; routing_key: string }>> {
  const res = await request(
    m,
    "GET",
    `/api/queues/${nfvoVhostPath(vhost)}/${encodeURIComponent(name)}/bindings`,
  );
  if (res.status !== 200) throw new Error(`GET bindings of ${name}: HTTP ${res.status}`);
  return JSON.parse(res.text) as Array<{ source: string; routing_key: string }>;
}

/**
 * Who consumes a queue: the RabbitMQ user of each consumer's connection (the management API's view). A consumer
 * whose channel details the statistics have not filled in yet is left out.
 */
export async function getQueueConsumerUsers(
  m: ManagementAccess,
  vhost: string,
  name: string,
): Promise<string[]> {
  const res = await request(m, "GET", `/api/consumers/${nfvoVhostPath(vhost)}`);
  if (res.status !== 200) throw new Error(`GET consumers of ${vhost}: HTTP ${res.status}`);
  const consumers = JSON.parse(res.text) as Array<{
    queue: { name: string };
    channel_details: { user?: string };
  }>;
  return consumers
    .filter((c) => c.queue.name === name)
    .flatMap((c) => (c.channel_details.user === undefined ? [] : [c.channel_details.user]));
}
