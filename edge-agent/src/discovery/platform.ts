import os from "node:os";
import { IotFogError, type NodeArchitecture } from "@openiotfog/shared";

const ARCH: Record<string, NodeArchitecture> = { x64: "amd64", arm64: "arm64", arm: "arm" };

/** `armv7l` → `v7`: the variant 32-bit ARM images name (arm64 images' `v8` is implied and not reported). */
function armVariant(machine: string): string | undefined {
  const revision = /^armv(\d+)/.exec(machine)?.[1];
  return revision === undefined ? undefined : `v${revision}`;
}

/**
 * Architecture in Docker/Go naming (what image platforms use), OS and kernel release. The architecture is the
 * agent process's own: under qemu-user emulation (the test suite's arm64 agent) that is the emulated one.
 */
export function fingerprintPlatform(): {
  arch: NodeArchitecture;
  variant?: string;
  os: string;
  kernel: string;
  hostname: string;
} {
  const arch = ARCH[process.arch];
  if (arch === undefined) {
    throw new IotFogError("UNSUPPORTED", `architecture ${process.arch} is not supported (amd64, arm64, arm)`);
  }
  const variant = arch === "arm" ? armVariant(os.machine()) : undefined;
  return {
    arch,
    ...(variant === undefined ? {} : { variant }),
    os: os.platform(),
    kernel: os.release(),
    hostname: os.hostname(),
  };
}
