import type { Command } from "commander";
import type { ContainerFigures } from "@openiotfog/shared";
import type {
  DeploymentRecord,
  FleetEvent,
  FleetEventType,
  FleetNode,
  LogLine,
} from "@openiotfog/vim-driver";
import { abortOnSignal } from "./api-client";
import { client, intOption, print, printJson, withApiOptions, type CommonOptions } from "./common";
import { bytes, table } from "./format";

/** Each replica's container figures from its node's last heartbeat, by `<nodeId>/<agent deployment id>`. */
export function figuresByReplica(nodes: readonly FleetNode[]): Map<string, ContainerFigures> {
  const out = new Map<string, ContainerFigures>();
  for (const n of nodes) for (const c of n.containers ?? []) out.set(`${n.nodeId}/${c.deploymentId}`, c);
  return out;
}

/** The deployments with each replica's figures (`usage`, when its node sent them), for `ps -o json`. */
export function withFigures(
  deployments: DeploymentRecord[],
  figures: ReadonlyMap<string, ContainerFigures>,
): Array<DeploymentRecord & { replicas: Array<{ usage?: Omit<ContainerFigures, "deploymentId"> }> }> {
  return deployments.map((d) => ({
    ...d,
    replicas: d.replicas.map((r) => {
      const f = figures.get(`${r.nodeId}/${r.agentDeploymentId}`);
      if (f === undefined) return r;
      const { deploymentId: _id, ...usage } = f;
      return { ...r, usage };
    }),
  }));
}

/** CPU as `docker stats` shows it (100% = one core) and memory as used / limit. */
function usage(f: ContainerFigures | undefined): [string, string] {
  if (f === undefined) return ["-", "-"];
  const cpu = f.cpuCores === undefined ? "-" : `${(f.cpuCores * 100).toFixed(1)}%`;
  return [cpu, `${bytes(f.memoryBytes)} / ${bytes(f.memoryLimitBytes)}`];
}

export function psTable(
  deployments: DeploymentRecord[],
  figures: ReadonlyMap<string, ContainerFigures> = new Map(),
): string {
  const rows: string[][] = [];
  for (const d of deployments) {
    if (d.replicas.length === 0) rows.push([d.id, "-", "-", "-", d.status, "-", "-", "-", "-"]);
    for (const r of d.replicas) {
      rows.push([
        d.id,
        `${r.service}#${r.replica}`,
        r.nodeId,
        r.state,
        d.status,
        ...usage(figures.get(`${r.nodeId}/${r.agentDeploymentId}`)),
        r.containerName ?? "-",
        r.image,
      ]);
    }
  }
  const out = table(
    ["deployment", "replica", "node", "state", "status", "cpu", "memory", "container", "image"],
    rows,
  );
  // Why a replica is pending or waiting (node lost, nothing fits), as the reconciler explains it.
  const notes = deployments.flatMap((d) =>
    d.replicas.filter((r) => r.note !== undefined).map((r) => `${d.id} ${r.service}#${r.replica}: ${r.note}`),
  );
  return notes.length === 0 ? out : `${out}\n\n${notes.join("\n")}`;
}

/** Redraws `render()` every 2 s until SIGINT/SIGTERM. */
async function watch(render: () => Promise<string>): Promise<void> {
  const controller = new AbortController();
  const release = abortOnSignal(controller);
  const stop = controller.signal;
  try {
    while (!stop.aborted) {
      const text = await render();
      process.stdout.write(`\x1b[2J\x1b[H${new Date().toLocaleTimeString()}  (Ctrl-C to stop)\n\n${text}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        stop.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  } finally {
    release();
  }
}

function logPrefix(l: LogLine, many: boolean): string {
  return many ? `${l.service}#${l.replica}@${l.nodeId} | ` : "";
}

function eventLine(e: FleetEvent): string {
  return `${e.time}  ${e.type.padEnd(19)} ${e.message}`;
}

export function registerWorkloadCommands(program: Command): void {
  const psOnce = async (opts: CommonOptions): Promise<string> => {
    const api = client(opts);
    const [{ deployments }, { nodes }] = await Promise.all([
      api.json<{ deployments: DeploymentRecord[] }>("GET", "/deployments"),
      api.json<{ nodes: FleetNode[] }>("GET", "/nodes"),
    ]);
    const figures = figuresByReplica(nodes);
    if (opts.output === "json") return `${JSON.stringify(withFigures(deployments, figures), null, 2)}\n`;
    if (deployments.length === 0)
      return "no deployments: deploy one with `iotfog deploy examples/hello.yaml`\n";
    return psTable(deployments, figures);
  };
  withApiOptions(
    program
      .command("ps")
      .description("list deployments, where each replica runs, and its CPU and memory")
      .option("-w, --watch", "refresh every 2 s until interrupted (as `iotfog top`)"),
  ).action(async (opts: CommonOptions & { watch?: boolean }) => {
    if (opts.watch === true) await watch(() => psOnce(opts));
    else process.stdout.write(await psOnce(opts));
  });
  withApiOptions(
    program.command("top").description("the replicas with their CPU and memory, refreshed every 2 s"),
  ).action(async (opts: CommonOptions) => watch(() => psOnce(opts)));

  withApiOptions(
    program
      .command("rm")
      .description("remove deployments (every replica on every node)")
      .argument("<ids...>", "deployment ids (see iotfog ps)"),
  ).action(async (ids: string[], opts: CommonOptions) => {
    const api = client(opts);
    const removed: DeploymentRecord[] = [];
    for (const id of ids) {
      removed.push(await api.json<DeploymentRecord>("DELETE", `/deployments/${encodeURIComponent(id)}`));
      if (opts.output !== "json") print(`removed ${id}`);
    }
    if (opts.output === "json") printJson(removed);
  });

  withApiOptions(
    program
      .command("logs")
      .description("container logs of a deployment's replicas")
      .argument("<id>", "deployment id")
      .option("-f, --follow", "keep printing new lines until Ctrl-C")
      .option("--service <name>", "only this service")
      .option("--replica <n>", "only this replica", intOption("--replica"))
      .option("--tail <n>", "lines per replica to start with", intOption("--tail", 1), 100)
      .option("-t, --timestamps", "show timestamps"),
  ).action(
    async (
      id: string,
      opts: CommonOptions & {
        follow?: boolean;
        service?: string;
        replica?: number;
        tail: number;
        timestamps?: boolean;
      },
    ) => {
      const q = new URLSearchParams({ tail: String(opts.tail) });
      if (opts.service !== undefined) q.set("service", opts.service);
      if (opts.replica !== undefined) q.set("replica", String(opts.replica));
      if (opts.timestamps === true) q.set("timestamps", "true");
      const api = client(opts);
      const path = `/deployments/${encodeURIComponent(id)}/logs`;
      const { lines } = await api.json<{ lines: LogLine[] }>("GET", `${path}?${q.toString()}`);
      const many = new Set(lines.map((l) => `${l.service}#${l.replica}`)).size > 1;
      const show = (l: LogLine): void => {
        if (opts.output === "json") process.stdout.write(`${JSON.stringify(l)}\n`);
        else process.stdout.write(`${logPrefix(l, many)}${l.line}\n`);
      };
      if (opts.follow !== true) {
        if (opts.output === "json") printJson(lines);
        else for (const l of lines) show(l);
        return;
      }
      // Follow: the stream starts with the last lines itself, so the snapshot above only decides the prefix.
      const controller = new AbortController();
      const release = abortOnSignal(controller);
      q.set("follow", "true");
      q.set("tail", String(opts.tail));
      try {
        for await (const m of api.sse(`${path}?${q.toString()}`, controller.signal)) {
          if (m.event === "log") show(JSON.parse(m.data) as LogLine);
          else if (m.event === "problem")
            process.stderr.write(`iotfog: ${(JSON.parse(m.data) as { message: string }).message}\n`);
        }
      } finally {
        release();
      }
    },
  );

  withApiOptions(
    program
      .command("events")
      .description("recent fleet events (nodes online/offline, devices, deployments); -f to follow live")
      .option("-f, --follow", "keep printing events as they happen until Ctrl-C")
      .option("--since <id>", "only events after this id", intOption("--since"))
      .option("--limit <n>", "how many recent events", intOption("--limit", 1), 50)
      .option("--type <types>", "comma-separated types, e.g. node.offline,device.attached")
      .option("--node <id>", "only events of this node"),
  ).action(
    async (
      opts: CommonOptions & { follow?: boolean; since?: number; limit: number; type?: string; node?: string },
    ) => {
      const q = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.since !== undefined) q.set("since", String(opts.since));
      if (opts.type !== undefined) q.set("type", opts.type);
      if (opts.node !== undefined) q.set("node", opts.node);
      const api = client(opts);
      const { events } = await api.json<{ events: FleetEvent[] }>("GET", `/events?${q.toString()}`);
      const types = opts.type?.split(",").filter((t) => t !== "") as FleetEventType[] | undefined;
      const wanted = (e: FleetEvent): boolean =>
        (types === undefined || types.includes(e.type)) &&
        (opts.node === undefined || e.nodeId === opts.node);
      const show = (e: FleetEvent): void => {
        if (opts.output === "json") process.stdout.write(`${JSON.stringify(e)}\n`);
        else process.stdout.write(`${eventLine(e)}\n`);
      };
      if (opts.follow !== true) {
        if (opts.output === "json") printJson(events);
        else for (const e of events) show(e);
        return;
      }
      for (const e of events) show(e);
      const last = events.at(-1)?.id ?? opts.since;
      const controller = new AbortController();
      const release = abortOnSignal(controller);
      try {
        const since = last === undefined ? "" : `?since=${last}`;
        for await (const m of api.sse(`/events/stream${since}`, controller.signal)) {
          const e = JSON.parse(m.data) as FleetEvent;
          if (wanted(e)) show(e);
        }
      } finally {
        release();
      }
    },
  );
}
