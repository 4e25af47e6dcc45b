import { readFileSync } from "node:fs";
import { errorMessage, sleep, type Component, type Logger } from "@openiotfog/shared";
import type { DeploymentRecord, NodeSummary } from "@openiotfog/vim-driver";
import { ApiClient, toApiError } from "./api-client";

export interface UpDeployOptions {
  /** Blueprint files to deploy once the local agent is in the fleet. */
  blueprints: string[];
  apiUrl: string;
  token: string;
  tokenFile: string;
  logger: Logger;
  /** Where the summary goes (stdout; logs go to stderr). */
  write?: (text: string) => void;
  /** How long to wait for a node to join before giving up on the deploys. */
  nodeWaitMs?: number;
}

/**
 * The last step of `iotfog up`: deploys the example blueprints through the fleet REST API (the same deploy
 * path as `iotfog deploy`), then prints where each replica landed and how to look at it. Runs in the
 * background so a slow image copy never holds up the stack; a failure is reported, the stack keeps running.
 */
export class UpDeployer implements Component {
  readonly name = "example-deployments";
  private task: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: UpDeployOptions) {}

  async start(): Promise<void> {
    this.task = this.run().catch((e: unknown) => {
      this.opts.logger.error("example deployment failed", { error: errorMessage(e) });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.task;
  }

  private write(text: string): void {
    (this.opts.write ?? ((t: string) => process.stdout.write(t)))(text);
  }

  private async run(): Promise<void> {
    const api = new ApiClient({ url: this.opts.apiUrl, token: this.opts.token });
    const nodes = await this.waitForNodes(api);
    const lines: string[] = [];
    for (const file of this.opts.blueprints) {
      if (this.stopped) return;
      try {
        const deployment = await this.deployOne(api, file);
        if (deployment !== undefined) lines.push(...this.describe(deployment, nodes));
      } catch (e) {
        // The stack stays up: the operator sees why and can retry with `iotfog deploy`.
        this.opts.logger.error("example deployment failed", { file, error: errorMessage(e) });
        lines.push(`  NOT deployed: ${file}: ${errorMessage(e)}  (retry: npx iotfog deploy ${file})`);
      }
    }
    const gui = `${this.opts.apiUrl}/#token=${this.opts.token}`;
    this.write(
      [
        "",
        "OpenIoTFog is up.",
        ...lines,
        `  web GUI:    ${gui}`,
        `  fleet API:  ${this.opts.apiUrl}/api/v1  (token in ${this.opts.tokenFile})`,
        "  try:        npx iotfog nodes    npx iotfog ps    npx iotfog events -f    (in this directory)",
        "  stop:       Ctrl-C (deployments keep running on the agent; remove one with `npx iotfog rm ID`)",
        "",
      ].join("\n") + "\n",
    );
  }

  private async deployOne(api: ApiClient, file: string): Promise<DeploymentRecord | undefined> {
    const blueprint = readFileSync(file, "utf8");
    let deployment: DeploymentRecord | undefined;
    for await (const msg of api.ndjson("/deployments", { blueprint })) {
      if (msg.type === "progress") {
        this.opts.logger.info("deploying example", {
          file,
          phase: msg.phase,
          service: msg.service,
          node: msg.nodeId,
        });
      } else if (msg.type === "result") {
        deployment = msg.deployment as DeploymentRecord;
      } else if (msg.type === "error") {
        const err = toApiError(Number(msg.status ?? 500), msg);
        // After a restart the agent still runs the example (it keeps its desired state): that is fine.
        if (err.code !== "CONFLICT") throw err;
        const id = /deployment "([^"]+)"/.exec(err.message)?.[1] ?? file;
        deployment = await api.json<DeploymentRecord>("GET", `/deployments/${encodeURIComponent(id)}`);
      }
    }
    return deployment;
  }

  private describe(d: DeploymentRecord, nodes: NodeSummary[]): string[] {
    const out: string[] = [];
    const spec = d.specs ?? [];
    for (const r of d.replicas) {
      const ports = spec.find((s) => s.name === r.service)?.ports.filter((p) => p.host !== undefined) ?? [];
      const node = nodes.find((n) => n.nodeId === r.nodeId);
      const host = node?.endpoint?.match(/^tcp:\/\/([^:]+):/)?.[1] ?? "127.0.0.1";
      const urls = ports.map(
        (p) => `http://${host === "0.0.0.0" || host === "*" ? "127.0.0.1" : host}:${p.host ?? p.container}/`,
      );
      out.push(
        `  deployed:   ${d.id}: ${r.service}#${r.replica} on node ${r.nodeId} (${r.state}, container ${r.containerName ?? "?"})${urls.length > 0 ? ` → ${urls.join(" ")}` : ""}`,
      );
    }
    return out;
  }

  private async waitForNodes(api: ApiClient): Promise<NodeSummary[]> {
    const deadline = Date.now() + (this.opts.nodeWaitMs ?? 60000);
    for (;;) {
      if (this.stopped) return [];
      try {
        const { nodes } = await api.json<{ nodes: NodeSummary[] }>("GET", "/nodes");
        if (nodes.some((n) => n.online && n.capabilities !== undefined)) return nodes;
      } catch (e) {
        this.opts.logger.debug("fleet API not ready yet", { error: errorMessage(e) });
      }
      if (Date.now() > deadline)
        throw new Error("no agent joined the fleet within 60 s; is the local agent running?");
      await sleep(250);
    }
  }
}
