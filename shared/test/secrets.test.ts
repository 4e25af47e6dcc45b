import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import winston from "winston";
import {
  IotFogError,
  createLogger,
  readSecretFile,
  readSecretFileSync,
  redact,
  redactText,
  sameSecret,
} from "@openiotfog/shared";

/** A real logger from createLogger whose lines are collected instead of written to stderr. */
function capturedLogger(): { logger: winston.Logger; lines: () => string[] } {
  const logger = createLogger({ component: "test", silent: false });
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on("data", (b: Buffer) => chunks.push(b.toString("utf8")));
  logger.clear().add(new winston.transports.Stream({ stream: out }));
  return {
    logger,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l !== ""),
  };
}

describe("log redaction", () => {
  it.each([
    ["amqp://admin:s3cret@rabbit:5672/vhost", "amqp://admin:***@rabbit:5672/vhost"],
    ["amqps://u:p%40ss@broker", "amqps://u:***@broker"],
    ["mqtt://node-1:pa@ss@10.0.0.1:1883", "mqtt://node-1:***@10.0.0.1:1883"],
    ["https://ghp_abcdef@example.org/repo", "https://***@example.org/repo"],
    [
      "http://127.0.0.1:7080/api/v1/events?access_token=abcd1234&x=1",
      "http://127.0.0.1:7080/api/v1/events?access_token=***&x=1",
    ],
    ["connect to mqtt://127.0.0.1:1883 failed", "connect to mqtt://127.0.0.1:1883 failed"],
    ["plain text, no url", "plain text, no url"],
  ])("redactText(%s)", (input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it("reaches strings at any depth, in arrays and errors, and values under secret-named keys", () => {
    const out = redact({
      broker: { urls: ["amqp://a:b@h1", "amqp://h2"], options: { deep: { url: "mqtt://n:pw@h" } } },
      error: new Error("cannot connect to amqp://admin:hunter2@rabbit"),
      apiToken: "abcdef",
      nested: { password: { any: "shape" } },
    });
    expect(JSON.stringify(out)).not.toMatch(/hunter2|:b@|:pw@|abcdef|shape/);
    expect(out).toEqual({
      broker: { urls: ["amqp://a:***@h1", "amqp://h2"], options: { deep: { url: "mqtt://n:***@h" } } },
      error: { name: "Error", message: "cannot connect to amqp://admin:***@rabbit" },
      apiToken: "[redacted]",
      nested: { password: "[redacted]" },
    });
  });

  it("every log line a real logger writes is redacted: message, metadata, nested fields", () => {
    const { logger, lines } = capturedLogger();
    logger.info("connecting to amqp://admin:hunter2@rabbit:5672", {
      url: "mqtt://node:secretpw@broker:8883",
      attempt: { target: new URL("http://user:pw2@host/x") },
      list: [{ err: new Error("refused by amqps://x:pw3@h") }],
    });
    logger.warn("token in a query: http://h/events/stream?access_token=tok999");
    const text = lines().join("\n");
    expect(lines()).toHaveLength(2);
    for (const secret of ["hunter2", "secretpw", "pw2", "pw3", "tok999"]) expect(text).not.toContain(secret);
    const first = JSON.parse(lines()[0]!);
    expect(first.message).toBe("connecting to amqp://admin:***@rabbit:5672");
    expect(first.url).toBe("mqtt://node:***@broker:8883");
    expect(first.attempt.target).toBe("http://user:***@host/x");
  });

  it("leaves a long line of remote input with many schemes and no credentials unchanged", () => {
    const hostile = "a://".repeat(20000) + "x".repeat(20000);
    expect(redactText(hostile)).toBe(hostile);
  });
});

describe("sameSecret", () => {
  it("is true only for the same text, whatever the lengths", () => {
    expect(sameSecret("abcdefgh", "abcdefgh")).toBe(true);
    expect(sameSecret("abcdefgh", "abcdefgi")).toBe(false);
    expect(sameSecret("abc", "abcdefgh")).toBe(false);
    expect(sameSecret("", "abcdefgh")).toBe(false);
    expect(sameSecret("é", "e\u0301")).toBe(false);
  });
});

describe("secret files", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-secret-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function secret(mode: number): string {
    const file = path.join(dir, "token");
    writeFileSync(file, "tok-123456\n");
    chmodSync(file, mode);
    return file;
  }

  it.each([[0o600], [0o400], [0o700]])("reads a file with owner-only mode %o (octal %#o)", async (mode) => {
    const file = secret(mode);
    expect(readSecretFileSync(file)).toBe("tok-123456");
    await expect(readSecretFile(file)).resolves.toBe("tok-123456");
  });

  it.each([
    [0o644, "0644"],
    [0o640, "0640"],
    [0o604, "0604"],
    [0o660, "0660"],
    [0o666, "0666"],
  ])("refuses a file with mode %#o, naming the file and its mode %s", async (mode, shown) => {
    const file = secret(mode);
    expect(() => readSecretFileSync(file)).toThrow(IotFogError);
    expect(() => readSecretFileSync(file)).toThrow(`secret file ${file} has mode ${shown}`);
    await expect(readSecretFile(file)).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });
});
