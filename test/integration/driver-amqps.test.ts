/**
 * The driver reaches RabbitMQ over TLS (issue 12, item 6): `openbaton.brokerUrl: amqps://...` with
 * `openbaton.caFile`. The shared RabbitMQ has no TLS listener and must not be reconfigured, so the test puts a
 * TLS listener of its own in front of it (a TLS-terminating proxy, as stunnel or HAProxy would be, with a
 * certificate from a CA made by openssl). The NFVO emulator stays on plain AMQP; only the driver goes through
 * the TLS port. Checked: the driver registers and answers an Open Baton call over amqps; a driver that does not
 * trust the CA cannot connect; a CA with a plain amqp:// URL is refused by the configuration.
 */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { readFile } from "node:fs/promises";
import { parseWith } from "@openiotfog/shared";
import { driverConfigSchema } from "@openiotfog/vim-driver";
import { registerPlugin } from "@openiotfog/vim-driver/openbaton/registration";
import { RABBIT_HOST, RABBIT_PORT, requireMqtt, requireRabbitMq } from "../helpers/services";
import { makeCa, makeServerCert, type TestCa } from "../helpers/tls";
import { startDriverHarness, type DriverHarness } from "../nfvo-emulator/harness";

/** A TLS listener on loopback that forwards each connection to the shared RabbitMQ's plain AMQP port. */
async function startTlsProxy(cert: { cert: string; key: string }): Promise<{
  port: number;
  /** Connections that completed the TLS handshake. */
  secured: () => number;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let secured = 0;
  const server = tls.createServer(
    { cert: await readFile(cert.cert), key: await readFile(cert.key) },
    (client) => {
      secured += 1;
      const upstream = net.connect(RABBIT_PORT, RABBIT_HOST);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("error", () => undefined);
        s.on("close", () => {
          sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    },
  );
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    secured: () => secured,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("the driver reaches RabbitMQ over amqps", () => {
  let dir: string;
  let ca: TestCa;
  let proxy: Awaited<ReturnType<typeof startTlsProxy>>;
  let h: DriverHarness | undefined;

  beforeAll(async () => {
    await requireRabbitMq();
    await requireMqtt();
    dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-amqps-"));
    ca = await makeCa(dir, "broker-ca");
    proxy = await startTlsProxy(await makeServerCert(dir, ca, "rabbit", ["DNS:localhost"]));
  });

  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("registers through the TLS listener with the configured CA and answers the NFVO", async () => {
    h = await startDriverHarness({
      driver: { openbaton: { brokerUrl: `amqps://localhost:${proxy.port}`, caFile: ca.cert } },
    });
    // The plugin queue is served: registration and the manager session went over TLS.
    expect(proxy.secured()).toBeGreaterThanOrEqual(2);
    expect(await h.emulator.call(h.vim, "getType", [], "String")).toBe("docker");
  });

  it("cannot connect when the broker's certificate is not signed by a trusted CA", async () => {
    const other = await makeCa(dir, "other-ca");
    const attempt = registerPlugin(
      {
        brokerUrl: `amqps://localhost:${proxy.port}`,
        vhost: h!.vhost.vhost,
        heartbeatSeconds: 0,
        ca: await readFile(other.cert, "utf8"),
      },
      { username: h!.emulator.registrationUser.name, password: h!.emulator.registrationUser.password },
      "docker",
      5000,
    );
    await expect(attempt).rejects.toMatchObject({
      code: "UNAVAILABLE",
      message: expect.stringMatching(
        /cannot connect to RabbitMQ .*amqps:.*(self.signed|unable to verify|issuer)/i,
      ),
    });
  });

  it("refuses a CA file with a plain amqp:// broker URL, naming the field", () => {
    expect(() =>
      parseWith(
        driverConfigSchema,
        { openbaton: { brokerUrl: "amqp://127.0.0.1:5672", caFile: ca.cert } },
        "driver.yaml",
        "CONFIG_INVALID",
      ),
    ).toThrow(/field "openbaton\.brokerUrl": must be an amqps:\/\/ URL when caFile is set/);
  });
});
