import { execFileSync } from "node:child_process";
import { InvalidArgumentError, Option, type Command } from "commander";
import { keyFingerprint, keyPin } from "@openiotfog/shared";
import type * as VimDriver from "@openiotfog/vim-driver";
import { client, intOption, print, printJson, withApiOptions, type CommonOptions } from "./common";
import { ago, table } from "./format";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `30m`, `1h`, `7d` → seconds. */
export function parseTtl(value: string): number {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  const unit = m?.[2] === undefined ? undefined : UNIT_SECONDS[m[2]];
  if (m?.[1] === undefined || unit === undefined || Number(m[1]) < 1) {
    throw new InvalidArgumentError("--ttl must be a number with s, m, h or d (e.g. 1h, 30m)");
  }
  return Number(m[1]) * unit;
}

interface FleetStatus {
  mode: "curve" | "insecure";
  fleetKey?: string;
  fingerprint?: string;
  rotation?: { pending: string[] } | null;
  nodes?: Array<{ nodeId: string; fingerprint: string; enrolledAt: number; revokedAt?: number }>;
}

/** The join command a new node runs, printed with every token. */
export function joinHint(token: string, apiUrl: string): string {
  return `iotfog agent --config agent.yaml --join ${token} --server ${apiUrl}`;
}

/** `broker.lan` → `DNS:broker.lan`, `10.0.0.5` → `IP:10.0.0.5`; `DNS:`/`IP:` given as is. */
export function altName(value: string): string {
  if (/^(DNS|IP):/.test(value)) return value;
  return /^[0-9.]+$|:/.test(value) ? `IP:${value}` : `DNS:${value}`;
}

/** A system user's ids (`id -u` / `id -g`), for the broker's files. */
function systemUser(name: string): { name: string; uid: number; gid: number } {
  const id = (flag: string): number => {
    try {
      return Number(execFileSync("id", [flag, name], { encoding: "utf8" }).trim());
    } catch {
      throw new InvalidArgumentError(`--user ${name}: no such user on this machine`);
    }
  };
  return { name, uid: id("-u"), gid: id("-g") };
}

/** `iotfog fleet ...` (identity, join tokens, rotation) and `iotfog node revoke`. */
export function registerFleetCommands(program: Command): void {
  const fleet = program
    .command("fleet")
    .description("the fleet's identity: join tokens, enrolled nodes, key rotation");

  fleet
    .command("init")
    .description("create the fleet identity (CurveZMQ key pair) in a directory, if it does not exist yet")
    .option("--dir <dir>", "the driver's security.dir", ".iotfog/fleet")
    .action(async (opts: { dir: string }) => {
      // Loaded when chosen: `iotfog agent` on a small node must not load the driver side with the CLI.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { FleetIdentity } = require("@openiotfog/vim-driver") as typeof VimDriver;
      const { identity, created } = await FleetIdentity.open(opts.dir);
      const key = identity.fleetKey.publicKey;
      print(
        `${created ? "created" : "already there"}: fleet identity in ${identity.dir}\n` +
          `fleet key ${key} (fingerprint ${keyFingerprint(key)}, pin ${keyPin(key)})`,
      );
    });

  fleet
    .command("mqtt-config")
    .description(
      "write a Mosquitto configuration for the fleet: TLS listener with a certificate from the fleet CA, " +
        "password file and ACL (a node publishes only under its own topics)",
    )
    .requiredOption(
      "--out <dir>",
      "directory for mosquitto.conf, acl, passwd, ca.crt, server.crt, server.key",
    )
    .option("--dir <dir>", "the driver's security.dir", ".iotfog/fleet")
    .option("--prefix <prefix>", "the fleet's mqtt.topicPrefix", "iotfog")
    .addOption(
      new Option("--port <port>", "port of the TLS listener").default(8883).argParser(intOption("--port")),
    )
    .option("--bind <address>", "address the listener binds (default: every address)")
    .option(
      "--host <name...>",
      "names and addresses clients use to reach the broker (DNS:broker.lan or IP:10.0.0.5; a bare value is guessed)",
    )
    .option(
      "--pid-file <file>",
      "pid_file for the broker (the driver's security.mosquitto.pidFile, to reload it)",
    )
    .option(
      "--user <name>",
      "the user Mosquitto runs as (Debian's service: mosquitto); run as root, the files are given to it",
    )
    .action(
      async (opts: {
        out: string;
        dir: string;
        prefix: string;
        port: number;
        bind?: string;
        host?: string[];
        pidFile?: string;
        user?: string;
      }) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { FleetIdentity, writeMosquittoConfig } = require("@openiotfog/vim-driver") as typeof VimDriver;
        const { identity } = await FleetIdentity.open(opts.dir);
        const altNames = ["DNS:localhost", "IP:127.0.0.1", ...(opts.host ?? []).map(altName)];
        const files = await writeMosquittoConfig(identity, {
          out: opts.out,
          prefix: opts.prefix,
          port: opts.port,
          bind: opts.bind,
          altNames: [...new Set(altNames)],
          pidFile: opts.pidFile,
          user: opts.user === undefined ? undefined : systemUser(opts.user),
        });
        print(
          [
            `wrote ${files.join(", ")}`,
            `run the broker:   mosquitto -c ${files[0] ?? ""}`,
            `driver.yaml:      mqtt: { url: mqtts://<broker>:${opts.port} }   # fleet CA and driver credentials are used`,
            `                  security: { mosquitto: { dir: ${opts.out}${opts.pidFile === undefined ? "" : `, pidFile: ${opts.pidFile}`} } }   # rewritten on enroll/revoke`,
            `agent.yaml:       mqtt: { url: mqtts://<broker>:${opts.port} }   # credentials and CA come with enrollment`,
            opts.user === undefined
              ? "(the files are mode 600: Mosquitto started by root runs as user mosquitto, so give --user)"
              : "",
          ].join("\n"),
        );
      },
    );

  withApiOptions(fleet.command("status").description("fleet key, rotation state and enrolled nodes")).action(
    async (opts: CommonOptions) => {
      const s = await client(opts).json<FleetStatus>("GET", "/fleet");
      if (opts.output === "json") return printJson(s);
      if (s.mode === "insecure") return print("security: OFF (security.mode: insecure)");
      const lines = [
        `security:  CurveZMQ`,
        `fleet key: ${s.fleetKey} (fingerprint ${s.fingerprint})`,
        `rotation:  ${s.rotation === null || s.rotation === undefined ? "-" : `under way, not reached yet: ${s.rotation.pending.join(", ") || "-"}`}`,
        "",
        table(
          ["node", "key", "enrolled", "status"],
          (s.nodes ?? []).map((n) => [
            n.nodeId,
            n.fingerprint,
            ago(n.enrolledAt),
            n.revokedAt === undefined ? "enrolled" : `revoked ${ago(n.revokedAt)}`,
          ]),
        ),
      ];
      print(lines.join("\n"));
    },
  );

  const token = fleet.command("token").description("join tokens (single use by default, expiring)");
  withApiOptions(
    token
      .command("create")
      .description(
        "create a join token; a node joins with `iotfog agent --config <file> --join <token> --server <url>`",
      )
      .addOption(
        new Option("--ttl <duration>", "lifetime: 30m, 1h, 7d").argParser(parseTtl).default(3600, "1h"),
      )
      .addOption(
        new Option("--uses <n>", "how many nodes may join with it")
          .argParser(intOption("--uses", 1))
          .default(1),
      ),
  ).action(async (opts: CommonOptions & { ttl: number; uses: number }) => {
    const api = client(opts);
    const t = await api.json<{ token: string; id: string; expiresAt: number; uses: number }>(
      "POST",
      "/fleet/tokens",
      {
        ttlSeconds: opts.ttl,
        uses: opts.uses,
      },
    );
    if (opts.output === "json") return printJson(t);
    print(
      `${t.token}\n\nvalid until ${new Date(t.expiresAt).toISOString()} for ${t.uses} node(s). On the new node:\n  ${joinHint(t.token, api.target.url)}`,
    );
  });
  withApiOptions(
    token.command("list").description("tokens still usable (their secrets are not kept)"),
  ).action(async (opts: CommonOptions) => {
    const r = await client(opts).json<{
      tokens: Array<{ id: string; createdAt: number; expiresAt: number; usesLeft: number }>;
    }>("GET", "/fleet/tokens");
    if (opts.output === "json") return printJson(r);
    print(
      table(
        ["id", "created", "expires", "uses left"],
        r.tokens.map((t) => [
          t.id,
          ago(t.createdAt),
          new Date(t.expiresAt).toISOString(),
          String(t.usesLeft),
        ]),
      ),
    );
  });

  withApiOptions(
    fleet
      .command("rotate")
      .description("new fleet key pair: live nodes learn it over the old key, then the old key is dropped"),
  ).action(async (opts: CommonOptions) => {
    const r = await client(opts).json<{
      fleetKey: string;
      reached: string[];
      pending: string[];
      finished: boolean;
    }>("POST", "/fleet/rotate");
    if (opts.output === "json") return printJson(r);
    print(
      `new fleet key ${keyFingerprint(r.fleetKey)}; reached: ${r.reached.join(", ") || "-"}` +
        (r.finished
          ? "\nthe old key is dropped everywhere"
          : `\nnot reached yet (offline): ${r.pending.join(", ")}; the old key stays until they are back`),
    );
  });

  const node = program.commands.find((c) => c.name() === "node") ?? program.command("node");
  withApiOptions(
    node
      .command("revoke")
      .description("revoke a node's key: the driver and every agent refuse it within seconds")
      .argument("<id>", "node id"),
  ).action(async (id: string, opts: CommonOptions) => {
    const r = await client(opts).json<{ nodeId: string; revokedAt: number; updated: string[] }>(
      "POST",
      `/nodes/${encodeURIComponent(id)}/revoke`,
    );
    if (opts.output === "json") return printJson(r);
    print(`${r.nodeId} revoked; trust lists updated on: ${r.updated.join(", ") || "-"}`);
  });
}
