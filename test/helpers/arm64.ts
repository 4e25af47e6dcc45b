/**
 * The edge agent on a Raspberry Pi's architecture, on this x86_64 machine: the real agent (the built
 * edge-agent/dist/main.js, the lean entry point the Pi's systemd unit runs) under Node 20 for linux-arm64, run by
 * qemu-aarch64-static, with its dependencies installed for linux-arm64 (zeromq's arm64 prebuild). Prepared by
 * scripts/arm64-agent.sh (part of scripts/setup.sh). binfmt_misc is not needed: qemu is called explicitly. The
 * Docker engines it drives stay x86_64: containers it starts are amd64 ones.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ServiceMissingError } from "./services";

const REPO = path.resolve(__dirname, "../..");
export const ARM64_DIR = process.env.IOTFOG_ARM64_DIR ?? path.join(REPO, ".iotfog/arm64");
export const ARM64_NODE_VERSION = process.env.IOTFOG_ARM64_NODE_VERSION ?? "20.19.6";
export const ARM64_NODE = path.join(ARM64_DIR, `node-${ARM64_NODE_VERSION}`, "bin/node");
export const ARM64_AGENT_MAIN = path.join(ARM64_DIR, "agent/edge-agent/dist/main.js");
/** The zeromq addon the arm64 agent must load: the linux-arm64 prebuild, not a build for this host. */
export const ARM64_ZEROMQ_ADDON = path.join(
  ARM64_DIR,
  "agent/node_modules/zeromq/build/linux/arm64/node/glibc-127-Release/addon.node",
);
/**
 * Module paths through the links in ARM64_DIR/agent (to the repository's shared/ and edge-agent/), so the agent
 * resolves its dependencies in ARM64_DIR/agent/node_modules and never in the repository's x86_64 ones.
 */
export const ARM64_NODE_FLAGS = ["--preserve-symlinks", "--preserve-symlinks-main"];

/** Fails loudly (never skips) when the set-up has not prepared the emulated arm64 agent. */
export function requireArm64(): void {
  for (const [what, file] of [
    ["qemu-aarch64-static", "/usr/bin/qemu-aarch64-static"],
    [`Node ${ARM64_NODE_VERSION} for linux-arm64`, ARM64_NODE],
    ["the agent linked for arm64", ARM64_AGENT_MAIN],
    ["zeromq's linux-arm64 prebuild", ARM64_ZEROMQ_ADDON],
  ] as const) {
    if (!existsSync(file))
      throw new ServiceMissingError(`the emulated arm64 agent (${what})`, `${file} is missing`);
  }
}

/** Starts the arm64 agent on `configFile` (extra V8 flags first, as the systemd unit passes them). */
export function spawnArm64Agent(
  configFile: string,
  opts: { v8Flags?: string[]; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  const child = spawn(
    "qemu-aarch64-static",
    [ARM64_NODE, ...ARM64_NODE_FLAGS, ...(opts.v8Flags ?? []), ARM64_AGENT_MAIN, "--config", configFile],
    { env: { ...process.env, IOTFOG_LOG_SILENT: "1", ...opts.env }, stdio: ["ignore", "ignore", "pipe"] },
  );
  child.stderr?.resume();
  return child;
}

/** The shared objects a running process has mapped (qemu-user maps the guest's files into its own process). */
export function mappedFiles(pid: number): string[] {
  const lines = readFileSync(`/proc/${pid}/maps`, "utf8").split("\n");
  return [...new Set(lines.map((l) => l.split(/\s+/)[5] ?? "").filter((f) => f.startsWith("/")))];
}
