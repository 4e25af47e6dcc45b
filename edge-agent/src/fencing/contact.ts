import path from "node:path";
import { z } from "zod";
import {
  errorMessage,
  readJsonOrSetAside,
  writeFileAtomic,
  type Component,
  type Logger,
} from "@openiotfog/shared";

/**
 * When this node last heard from the fleet. "Heard" is a command of the driver's reconciler arriving on the
 * (authenticated) command endpoint: the `ping` it sends every node the driver counts as online every interval
 * (2 s by default) apart from its passes, a pass's `list`, or a `start` or `remove` it sends after one. Not MQTT: a broker restart must not fence
 * anything, and an MQTT connection says nothing about whether the driver still counts the node in; the driver
 * talks to agents over ZeroMQ, which a broker restart does not touch. Peers never send these commands (they
 * forward deploys only).
 *
 * Kept in the data directory, so an agent restarted while cut off (a power cut, a reboot) counts its silence
 * from before the restart. Written at most every PERSIST_EVERY_MS: after a restart the silence is overstated by
 * up to that much, which fences sooner, never later.
 */
export const PERSIST_EVERY_MS = 10_000;

const contactSchema = z.object({ v: z.literal(1), lastHeard: z.number().int().nonnegative() }).strict();

export class FleetContact implements Component {
  readonly name = "fleet-contact";
  readonly file: string;
  private lastHeard: number;
  private persistedAt = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.file = path.join(dataDir, "fleet-contact.json");
    this.lastHeard = now();
  }

  /** Reads when the node last heard from the fleet; a node that never did counts from its start. */
  start(): Promise<void> {
    const saved = readJsonOrSetAside(
      this.file,
      (raw) => contactSchema.parse(raw),
      this.logger,
      "counting the fleet's silence from now",
    );
    if (saved !== undefined) this.lastHeard = Math.min(saved.lastHeard, this.now());
    this.persistedAt = this.lastHeard;
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.persist();
    await this.writing;
  }

  /** The driver's reconciler reached this node. */
  heard(): void {
    this.lastHeard = this.now();
    if (this.lastHeard - this.persistedAt >= PERSIST_EVERY_MS) this.persist();
  }

  /** Resolves when every write so far is done. */
  flush(): Promise<void> {
    return this.writing;
  }

  /** How long this node has not heard from the fleet. */
  silentForMs(): number {
    return Math.max(0, this.now() - this.lastHeard);
  }

  private persist(): void {
    const lastHeard = this.lastHeard;
    this.persistedAt = lastHeard;
    this.writing = this.writing
      .then(() => writeFileAtomic(this.file, JSON.stringify({ v: 1, lastHeard })))
      .catch((e: unknown) => {
        this.logger.warn("could not save when the fleet was last heard", { error: errorMessage(e) });
      });
  }
}
