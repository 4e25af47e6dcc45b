import os from "node:os";
import { IotFogError, type NodeArchitecture } from "@openiotfog/shared";

const ARCH: Record<string, NodeArchitecture> = { x64: "amd64", arm64: "arm64", arm: "arm" };

/** Architecture in Docker/Go naming (what image platforms use), OS and kernel release. */
export function fingerprintPlatform(): {
  arch: NodeArchitecture;
  os: string;
  kernel: string;
  hostname: string;
} {
  const arch = ARCH[process.arch];
  if (arch === undefined) {
    throw new IotFogError("UNSUPPORTED", `architecture ${process.arch} is not supported (amd64, arm64, arm)`);
  }
  return { arch, os: os.platform(), kernel: os.release(), hostname: os.hostname() };
}
