/**
 * docker-compose.yml cannot run here (no registry), so this checks what can be checked: it parses, has the
 * services the README promises, references only files that exist, and the configuration files it mounts
 * are valid for the processes that read them.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { loadConfig } from "@openiotfog/shared";
import { agentConfigSchema } from "@openiotfog/edge-agent";
import { driverConfigSchema } from "@openiotfog/vim-driver";

const root = path.resolve(__dirname, "../..");

interface ComposeService {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  volumes?: string[];
  command?: string[];
}

const compose = yaml.load(readFileSync(path.join(root, "docker-compose.yml"), "utf8")) as {
  services: Record<string, ComposeService>;
};

/** Host-side paths of bind mounts that point into the repository. */
function repoMounts(service: ComposeService): string[] {
  return (service.volumes ?? [])
    .map((v) => v.split(":")[0] ?? "")
    .filter((src) => src.startsWith("./"))
    .map((src) => path.join(root, src));
}

describe("docker-compose.yml", () => {
  it("defines RabbitMQ with management, Mosquitto 2, the NFVO 6, the driver and an agent", () => {
    const s = compose.services;
    expect(s.rabbitmq?.image).toMatch(/^rabbitmq:3.*management/);
    expect(s.mosquitto?.image).toMatch(/^eclipse-mosquitto:2/);
    expect(s.nfvo?.image).toMatch(/^openbaton\/nfvo:6\./);
    expect(s["iotfog-driver"]?.command?.slice(0, 1)).toEqual(["driver"]);
    expect(s["iotfog-agent"]?.command?.slice(0, 1)).toEqual(["agent"]);
    expect(s["iotfog-agent"]?.volumes).toContain("/var/run/docker.sock:/var/run/docker.sock");
  });

  it("references only files that exist", () => {
    const missing: string[] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      for (const p of repoMounts(service)) if (!existsSync(p)) missing.push(`${name}: ${p}`);
      if (service.build !== undefined) {
        const ctx = typeof service.build === "string" ? service.build : service.build.context;
        const dockerfile =
          typeof service.build === "string" ? "Dockerfile" : (service.build.dockerfile ?? "Dockerfile");
        if (!existsSync(path.join(root, ctx, dockerfile))) missing.push(`${name}: ${ctx}/${dockerfile}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("mounts a Mosquitto config with an explicit listener (Mosquitto 2 is loopback-only without one)", () => {
    const conf = readFileSync(path.join(root, "deploy/compose/mosquitto.conf"), "utf8");
    expect(conf).toMatch(/^listener 1883 0\.0\.0\.0$/m);
  });

  it("mounts driver and agent configurations that their schemas accept", () => {
    const driverFile = repoMounts(compose.services["iotfog-driver"]!).find((p) => p.endsWith(".yaml"))!;
    const agentFile = repoMounts(compose.services["iotfog-agent"]!).find((p) => p.endsWith(".yaml"))!;
    expect(loadConfig(driverConfigSchema, driverFile, {}).openbaton.enabled).toBe(true);
    expect(loadConfig(agentConfigSchema, agentFile, {}).nodeId).toBe("compose-node-1");
  });
});
