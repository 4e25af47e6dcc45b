import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger } from "@openiotfog/shared";
import { resolveApiToken } from "../../src/api/server";

const logger = createLogger({ component: "test", silent: true });

describe("fleet API token file", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-api-token-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a new token with mode 0600 and reads it back", () => {
    const tokenFile = path.join(dir, "sub", "api-token");
    const token = resolveApiToken({ tokenFile }, logger);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(resolveApiToken({ tokenFile }, logger)).toBe(token);
  });

  it("refuses a token file other users may read, naming the file and its mode", () => {
    const tokenFile = path.join(dir, "api-token");
    writeFileSync(tokenFile, "a-token-that-leaked-0123\n");
    chmodSync(tokenFile, 0o644);
    expect(() => resolveApiToken({ tokenFile }, logger)).toThrow(`secret file ${tokenFile} has mode 0644`);
  });
});
