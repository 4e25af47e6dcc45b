import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { IotFogError, errorMessage, parseDeviceRef } from "@openiotfog/shared";
import type {
  DeployProgress,
  DeploymentRecord,
  ExplainResult,
  ReplicaDecision,
} from "@openiotfog/vim-driver";
import { ApiError, toApiError } from "./api-client";
import { client, collect, print, printJson, withApiOptions, type CommonOptions } from "./common";
import { describeDecision, describeExplain, progressBar } from "./format";

function readBlueprint(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new IotFogError(
      "BAD_REQUEST",
      code === "ENOENT" ? `blueprint file not found: ${file}` : `cannot read ${file}: ${errorMessage(e)}`,
    );
  }
}

/** Prints deploy progress; the image copy is a bar (redrawn in place on a terminal, in steps otherwise). */
class ProgressPrinter {
  private readonly tty = process.stdout.isTTY === true;
  private barOpen = false;
  private lastStep = -1;

  constructor(private readonly quiet: boolean) {}

  private line(text: string): void {
    if (this.quiet) return;
    if (this.barOpen) {
      process.stdout.write("\n");
      this.barOpen = false;
    }
    process.stdout.write(`${text}\n`);
  }

  on(p: DeployProgress): void {
    const who = `${p.service}#${p.replica}`;
    switch (p.phase) {
      case "placed":
        this.line(
          `placement  ${who} → ${p.nodeId}${p.score === undefined ? "" : ` (score ${p.score.toFixed(1)})`}`,
        );
        return;
      case "image":
        if (p.action === "present") this.line(`image      ${p.image} already on ${p.nodeId}`);
        else if (p.action === "pull") this.line(`image      pulling ${p.image} on ${p.nodeId}`);
        else this.bar(p);
        return;
      case "starting":
        this.line(`start      ${who} on ${p.nodeId}`);
        return;
      case "started":
        this.line(`running    ${who} on ${p.nodeId} as ${p.containerName} (${p.state})`);
        return;
    }
  }

  private bar(p: Extract<DeployProgress, { phase: "image" }>): void {
    if (this.quiet) return;
    const total = p.totalBytes ?? 0;
    const done = p.doneBytes ?? 0;
    if (total === 0) {
      this.line(`image      copying ${p.image} from ${p.fromNodeId ?? "?"} to ${p.nodeId}`);
      this.lastStep = -1;
      return;
    }
    const text = `image      ${progressBar(done, total)}`;
    if (this.tty) {
      process.stdout.write(`\r${text}`);
      this.barOpen = done < total;
      if (done >= total) process.stdout.write("\n");
      return;
    }
    // Not a terminal (a log, a pipe): a line per quarter instead of a redraw per chunk.
    const step = Math.floor((done / total) * 4);
    if (step !== this.lastStep) {
      this.lastStep = step;
      process.stdout.write(`${text}\n`);
    }
  }

  done(): void {
    if (this.barOpen) process.stdout.write("\n");
    this.barOpen = false;
  }
}

function describeDeployment(d: DeploymentRecord): string {
  const where = d.replicas.map(
    (r) =>
      `  ${r.service}#${r.replica} on ${r.nodeId}: ${r.state}${r.containerName ? ` (${r.containerName})` : ""}`,
  );
  return `deployed ${d.id}: ${d.replicas.length} replica(s)\n${where.join("\n")}\nsee it with: iotfog ps   (logs: iotfog logs ${d.id})\n`;
}

export function registerDeployCommands(program: Command): void {
  withApiOptions(
    program
      .command("deploy")
      .description("deploy a blueprint: placement, image copy (progress bar), container start")
      .argument("<file>", "blueprint YAML file (see examples/)")
      .option("--name <id>", "deployment id (default: the blueprint's metadata.name)"),
  ).action(async (file: string, opts: CommonOptions & { name?: string }) => {
    const body = { blueprint: readBlueprint(file), ...(opts.name === undefined ? {} : { name: opts.name }) };
    const printer = new ProgressPrinter(opts.output === "json");
    let result: DeploymentRecord | undefined;
    for await (const msg of client(opts).ndjson("/deployments", body)) {
      if (msg.type === "progress") printer.on(msg as unknown as DeployProgress);
      else if (msg.type === "result") result = msg.deployment as DeploymentRecord;
      else if (msg.type === "error") {
        printer.done();
        const err = toApiError(Number(msg.status ?? 500), msg);
        const decisions = err.details?.decisions as ReplicaDecision[] | undefined;
        if (decisions !== undefined && opts.output !== "json") {
          process.stderr.write(`cannot deploy: ${err.message}\n`);
          for (const d of decisions)
            if (!d.decision.ok) process.stderr.write(`${describeDecision(d, "  ")}\n`);
        }
        if (opts.output === "json") printJson(msg);
        throw err;
      }
    }
    printer.done();
    if (result === undefined)
      throw new IotFogError("PROTOCOL_ERROR", "the fleet API ended the deploy without a result");
    if (opts.output === "json") printJson(result);
    else print(describeDeployment(result));
  });

  withApiOptions(
    program
      .command("explain")
      .description(
        "dry run: where every replica would go, or every failed predicate on every node (exit 1 if not placeable)",
      )
      .argument("<file>", "blueprint YAML file")
      .option("--lose-node <id>", "what if this node were lost (repeatable)", collect)
      .option("--lose-device <node:device>", "what if this device were lost (repeatable)", collect)
      .option("--n-1", "also plan after losing each node and device the plan uses"),
  ).action(
    async (
      file: string,
      opts: CommonOptions & { loseNode?: string[]; loseDevice?: string[]; n1?: boolean },
    ) => {
      const lostDevices = (opts.loseDevice ?? []).map((s) => {
        const ref = parseDeviceRef(s);
        if (ref === undefined) {
          throw new IotFogError(
            "BAD_REQUEST",
            `--lose-device "${s}": write NODE:DEVICE (e.g. pi-2:zigbee-0)`,
          );
        }
        return ref;
      });
      const lostNodes = opts.loseNode ?? [];
      const body = {
        blueprint: readBlueprint(file),
        ...(lostNodes.length + lostDevices.length > 0 ? { whatIf: { lostNodes, lostDevices } } : {}),
        ...(opts.n1 === true ? { nMinusOne: true } : {}),
      };
      const r = await client(opts).json<ExplainResult>("POST", "/placement/explain", body);
      if (opts.output === "json") printJson(r);
      else print(describeExplain(r));
      const ok = r.feasible && (r.scenarios ?? []).every((s) => s.feasible);
      if (!ok)
        throw new ApiError(
          422,
          "PLACEMENT_FAILED",
          `${r.name}: ${[...r.problems, ...(r.scenarios ?? []).flatMap((s) => s.problems.map((p) => `${s.name}: ${p}`))].join("; ")}`,
        );
    },
  );
}
