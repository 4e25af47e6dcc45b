import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger } from "@openiotfog/shared";
import { formatFogSpec, type FogSpec } from "../src/openbaton/fog-spec";
import { MESSAGE_SCHEMAS } from "../src/vnfm/actions";
import { FileVnfmStateStore } from "../src/vnfm/store";

/**
 * The VNFM keeps each record's fog spec itself (no userdata string inside the process): the state file holds it
 * as v1 JSON and reads it back the same; a file written by an older version (a userdata string) still loads.
 */

const logger = createLogger({ component: "vnfm-store-test", level: "error", silent: true });

const spec: FogSpec = {
  env: { MODE: "edge" },
  ports: [{ container: 5001, host: 5001, protocol: "tcp" }],
  volumes: [],
  devices: [{ class: "zigbee", exclusive: true }],
  resources: { memoryBytes: 64 * 1024 * 1024 },
  constraints: ["node.labels.line==2"],
  labels: {},
  hostname: "gw-1",
  dns: [],
  aliases: { mgmt: ["gw"] },
};

const record = {
  id: "vnfr-1",
  name: "gateway",
  nsrId: "nsr-1",
  env: {},
  applied: { "n1:ob-x.gw-1.0": "[]" },
  started: false,
  vnfr: { id: "vnfr-1", name: "gateway" },
  vims: {},
};

describe("VNFM state file", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-vnfm-store-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps a record's fog spec as it was, and a record without one without one", async () => {
    const file = path.join(dir, "vnfm.json");
    await new FileVnfmStateStore(file, logger).save([
      { ...record, spec },
      { ...record, id: "vnfr-2" },
    ]);
    const loaded = new FileVnfmStateStore(file, logger).load();
    expect(loaded[0]?.spec).toEqual(spec);
    expect(loaded[1]).toEqual({ ...record, id: "vnfr-2" });
    expect(JSON.parse(readFileSync(file, "utf8")).records[0].spec.resources).toEqual({
      memory: 64 * 1024 * 1024,
    });
  });

  it("reads a file written with the userdata string of the VNFCs", () => {
    const file = path.join(dir, "vnfm.json");
    const userdata = `#!/bin/sh\n${formatFogSpec({ env: { MODE: "edge" }, resources: { memory: "64MiB" } }, "base64url")}\n`;
    writeFileSync(file, JSON.stringify({ version: 1, records: [{ ...record, userdata }] }));
    const [loaded] = new FileVnfmStateStore(file, logger).load();
    expect(loaded?.spec).toMatchObject({
      env: { MODE: "edge" },
      resources: { memoryBytes: 64 * 1024 * 1024 },
    });
  });

  it("sets aside a file whose spec is not valid, naming the record", () => {
    const file = path.join(dir, "vnfm.json");
    writeFileSync(file, JSON.stringify({ version: 1, records: [{ ...record, spec: { env: { A: 1 } } }] }));
    expect(new FileVnfmStateStore(file, logger).load()).toEqual([]);
  });
});

describe("NFVO actions", () => {
  it("has a message schema for every action the NFVO sends a VNFM", () => {
    expect(Object.keys(MESSAGE_SCHEMAS).sort()).toEqual(
      [
        "CONFIGURE",
        "ERROR",
        "HEAL",
        "INSTANTIATE",
        "MODIFY",
        "RELEASE_RESOURCES",
        "RESUME",
        "SCALE_IN",
        "SCALE_OUT",
        "START",
        "STOP",
        "UPDATE",
      ].sort(),
    );
  });
});
