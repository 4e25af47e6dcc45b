import path from "node:path";
import { readFileSync } from "node:fs";
import { loadConfig } from "@openiotfog/shared";
import { driverConfigSchema } from "../../src/config";

const dir = path.resolve(__dirname, "../../../openbaton-config");

describe("driver configuration", () => {
  it("the example driver.yaml is valid and targets vim-drivers.docker.fog", () => {
    const config = loadConfig(driverConfigSchema, path.join(dir, "driver.yaml"), {});
    expect(config.openbaton).toMatchObject({ enabled: true, type: "docker", name: "fog", workers: 8 });
    expect(config.flavors.map((f) => f.name)).toEqual(["m1.small", "fog.medium"]);
    const vim = JSON.parse(readFileSync(path.join(dir, "vim-instance.json"), "utf8")) as { type: string };
    expect(vim.type).toBe(`${config.openbaton.type}.${config.openbaton.name}`);
  });

  it("names the field of a bad setting", () => {
    expect(() => driverConfigSchema.parse({ openbaton: { workers: 0 } })).toThrow(/workers/);
    const r = driverConfigSchema.safeParse({ flavors: [{ name: "a" }, { name: "a" }] });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/flavor names must be unique/);
  });

  it("vnfm.autoHeal is off by default, a boolean when set, and named when it is not one", () => {
    expect(driverConfigSchema.parse({}).vnfm.autoHeal).toBe(false);
    expect(driverConfigSchema.parse({ vnfm: { autoHeal: true } }).vnfm.autoHeal).toBe(true);
    const r = driverConfigSchema.safeParse({ vnfm: { autoHeal: "yes" } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["vnfm", "autoHeal"]);
  });
});
