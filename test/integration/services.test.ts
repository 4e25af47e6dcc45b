/**
 * The real services the suite depends on answer, and the project's own set-up produced what tests use.
 * These fail (never skip) when a service is missing, with a message naming it.
 */
import amqp from "amqplib";
import mqtt from "mqtt";
import {
  MQTT_URL,
  TEST_IMAGE,
  createTempUser,
  createTempVhost,
  removeContainersByLabel,
  requireDocker,
  requireSecondDocker,
  requireMqtt,
  uniqueName,
  waitFor,
} from "../helpers/services";

describe("real services", () => {
  it("RabbitMQ: a message published on a temporary vhost comes back from a queue", async () => {
    const vh = await createTempVhost();
    try {
      const conn = await amqp.connect(vh.url);
      const ch = await conn.createChannel();
      const q = await ch.assertQueue("", { exclusive: true });
      ch.sendToQueue(q.queue, Buffer.from("ping"));
      const msg = await waitFor(async () => (await ch.get(q.queue, { noAck: true })) || undefined, {
        what: "message on RabbitMQ",
      });
      expect(msg.content.toString()).toBe("ping");
      await conn.close();
    } finally {
      await vh.delete();
    }
  });

  it("RabbitMQ: a temporary user can use only the vhost it was given", async () => {
    const vh = await createTempVhost();
    const user = await createTempUser(vh.vhost);
    try {
      const conn = await amqp.connect(user.url);
      await conn.close();
      await expect(amqp.connect(user.url.replace(/\/[^/]*$/, "/%2f"))).rejects.toThrow(
        /ConnectionClose|ACCESS_REFUSED|not_allowed/i,
      );
    } finally {
      await user.delete();
      await vh.delete();
    }
  });

  it("Mosquitto: a retained message is delivered to a later subscriber", async () => {
    await requireMqtt();
    const topic = `iotfog-test/${uniqueName("retained")}`;
    const pub = await mqtt.connectAsync(MQTT_URL);
    await pub.publishAsync(topic, "hello", { retain: true, qos: 1 });
    const sub = await mqtt.connectAsync(MQTT_URL);
    const got = new Promise<string>((resolve) =>
      sub.on("message", (_t, payload) => resolve(payload.toString())),
    );
    await sub.subscribeAsync(topic);
    await expect(got).resolves.toBe("hello");
    await pub.publishAsync(topic, "", { retain: true, qos: 1 }); // clear the retained message
    await Promise.all([pub.endAsync(), sub.endAsync()]);
  });

  it("the second Docker engine (a second fog node in tests) has its own image store with the test image", async () => {
    const a = await requireDocker();
    const b = await requireSecondDocker();
    const tag = `openiotfog/only-on-a:${uniqueName("t")}`;
    const [repo, version] = tag.split(":") as [string, string];
    await a.getImage(TEST_IMAGE).tag({ repo, tag: version });
    try {
      await expect(b.getImage(tag).inspect()).rejects.toThrow();
      expect((await b.getImage(TEST_IMAGE).inspect()).Id).toBe((await a.getImage(TEST_IMAGE).inspect()).Id);
    } finally {
      await a.getImage(tag).remove();
    }
  });

  it("Docker: the local test image runs sh, sleep and httpd", async () => {
    const d = await requireDocker();
    const label = uniqueName("services-test");
    const container = await d.createContainer({
      Image: TEST_IMAGE,
      Cmd: ["sh", "-c", "command -v sleep && command -v httpd && echo ready"],
      Labels: { "org.openiotfog.test": label },
    });
    try {
      await container.start();
      const result = (await container.wait()) as { StatusCode: number };
      expect(result.StatusCode).toBe(0);
      const logs = (await container.logs({ stdout: true, stderr: true })).toString();
      expect(logs).toContain("ready");
    } finally {
      expect(await removeContainersByLabel("org.openiotfog.test", label)).toBe(1);
    }
  });
});
