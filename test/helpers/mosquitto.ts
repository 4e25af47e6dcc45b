/**
 * A Mosquitto broker of the test's own (Debian's mosquitto package, installed by scripts/setup.sh): its own port,
 * configuration and persistence file in a temporary directory, so a test can stop, start and wipe it without
 * touching the shared broker on 1883.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, waitFor } from "./services";

const BINARY = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => existsSync(p));

export class OwnMosquitto {
  private child: ChildProcess | undefined;
  private output = "";

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly binary: string,
  ) {}

  /** The file Mosquitto keeps retained messages and sessions in across restarts. */
  get persistenceFile(): string {
    return path.join(this.dir, "mosquitto.db");
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnMosquitto> {
    if (BINARY === undefined) {
      throw new Error("no mosquitto binary (Debian package mosquitto): run `bash scripts/setup.sh`");
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-mosquitto-"));
    const broker = new OwnMosquitto(await freePort(), dir, BINARY);
    writeFileSync(
      path.join(dir, "mosquitto.conf"),
      [
        `listener ${broker.port} 127.0.0.1`,
        "allow_anonymous true",
        "persistence true",
        `persistence_location ${dir}/`,
        "persistence_file mosquitto.db",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        // As root Mosquitto would switch to the `mosquitto` user, which cannot write the test's private directory.
        ...(process.getuid?.() === 0 ? ["user root"] : []),
        "",
      ].join("\n"),
    );
    await broker.resume();
    return broker;
  }

  /** Starts the broker process (again) on the same port and configuration. */
  async resume(): Promise<void> {
    if (this.child !== undefined) throw new Error("mosquitto is already running");
    this.output = "";
    const child = spawn(this.binary, ["-c", path.join(this.dir, "mosquitto.conf")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.once("exit", () => {
      if (this.child === child) this.child = undefined;
    });
    await waitFor(
      async () => {
        if (this.child !== child) throw new Error(`mosquitto exited: ${this.output}`);
        return connects(this.port);
      },
      { timeoutMs: 10000, intervalMs: 50, what: `mosquitto listening on ${this.port}` },
    );
  }

  /** SIGTERM, as a service manager stops it: Mosquitto saves its persistence file on the way out. */
  async halt(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    await exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
