import type { Command } from "commander";
import { IotFogError } from "@openiotfog/shared";
import type { NodeSummary } from "@openiotfog/vim-driver";
import { client, print, printJson, withApiOptions, type CommonOptions } from "./common";
import { ago, bytes, cores, table } from "./format";

function status(n: NodeSummary): string {
  return n.online ? "online" : `offline (${n.offlineReason ?? "?"})`;
}

function devices(n: NodeSummary): string {
  const list = n.capabilities?.devices ?? [];
  return list.length === 0 ? "-" : list.map((d) => d.class).join(",");
}

function labels(n: NodeSummary): string {
  const entries = Object.entries(n.capabilities?.labels ?? {});
  return entries.length === 0 ? "-" : entries.map(([k, v]) => (v === "" ? k : `${k}=${v}`)).join(",");
}

export function nodesTable(nodes: NodeSummary[]): string {
  return table(
    ["id", "arch", "status", "cpu free", "memory free", "disk free", "devices", "replicas", "labels"],
    nodes.map((n) => [
      n.nodeId,
      n.capabilities?.platform.arch ?? "-",
      status(n),
      `${cores(n.free?.cpus)}/${cores(n.capabilities?.resources.cpu.cores)}`,
      `${bytes(n.free?.memoryBytes)}/${bytes(n.capabilities?.resources.memory.totalBytes)}`,
      bytes(n.free?.diskBytes),
      devices(n),
      String(n.replicas.length),
      labels(n),
    ]),
  );
}

const ENDPOINT_NAMES: Record<string, string> = {
  hardwareEvents: "hardware events",
  events: "events (PUB)",
  rest: "REST API",
};

/** The agent's endpoints besides the command one (shown as `Endpoint:`), from its presence. */
function otherEndpoints(n: NodeSummary): string {
  return Object.entries(n.endpoints ?? {})
    .filter(([k]) => k !== "commands")
    .map(([k, v]) => `${ENDPOINT_NAMES[k] ?? k} ${v}`)
    .join(", ");
}

function inspect(n: NodeSummary): string {
  const c = n.capabilities;
  const out = [
    `Node:        ${n.nodeId}${c ? ` (${c.hostname})` : ""}`,
    `Status:      ${status(n)}, last seen ${ago(n.lastSeen)}`,
    `Endpoint:    ${n.endpoint ?? "-"}`,
  ];
  const others = otherEndpoints(n);
  if (others !== "") out.push(`Endpoints:   ${others}`);
  out.push(`Agent:       ${n.agentVersion ?? c?.agentVersion ?? "-"}`);
  if (c) {
    out.push(
      `Platform:    ${c.platform.os}/${c.platform.arch}${c.platform.kernel ? ` kernel ${c.platform.kernel}` : ""}, role ${c.role}`,
      `CPU:         ${cores(c.resources.cpu.cores)} cores${c.resources.cpu.mhz ? ` @ ${c.resources.cpu.mhz} MHz` : ""}, ${cores(n.free?.cpus)} not reserved${n.live ? `, load ${n.live.load.map((l) => l.toFixed(2)).join(" ")}` : ""}`,
      `Memory:      ${bytes(n.free?.memoryBytes)} available of ${bytes(c.resources.memory.totalBytes)}`,
      `Disk:        ${bytes(n.free?.diskBytes)} available of ${bytes(c.resources.disk.totalBytes)}${c.resources.disk.path ? ` (${c.resources.disk.path})` : ""}`,
      `Labels:      ${labels(n)}`,
      `Protocols:   ${c.protocols.join(", ") || "-"}`,
      `Software:    ${c.software.map((s) => `${s.name} ${s.version}`).join(", ") || "-"}`,
      `Devices:     ${c.devices.length === 0 ? "-" : ""}`,
    );
    for (const d of c.devices) {
      const ids = d.vendorId !== undefined ? ` ${d.vendorId}:${d.productId ?? "?"}` : "";
      const name = [d.vendor, d.product].filter((x) => x !== undefined).join(" ");
      out.push(
        `  - ${d.id}: ${d.class}${ids}${name ? ` ${name}` : ""} at ${d.stablePath ?? d.path}${d.serial ? ` serial ${d.serial}` : ""}${d.inUseBy ? ` (in use by ${d.inUseBy})` : ""}`,
      );
    }
  }
  out.push(`Replicas:    ${n.replicas.length === 0 ? "-" : ""}`);
  for (const r of n.replicas)
    out.push(
      `  - ${r.deploymentId} ${r.service}#${r.replica}: ${r.state}${r.containerName ? ` (${r.containerName})` : ""}`,
    );
  return `${out.join("\n")}\n`;
}

/** `key=value` sets, `key-` removes (like `kubectl label`). */
export function parseLabelArgs(args: string[]): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const a of args) {
    if (a.endsWith("-") && !a.includes("=")) remove.push(a.slice(0, -1));
    else {
      const eq = a.indexOf("=");
      if (eq <= 0)
        throw new IotFogError("BAD_REQUEST", `label "${a}": write key=value to set or key- to remove`);
      set[a.slice(0, eq)] = a.slice(eq + 1);
    }
  }
  return { set, remove };
}

export function registerNodeCommands(program: Command): void {
  withApiOptions(
    program
      .command("nodes")
      .description("list the fog nodes: arch, status, free CPU/memory/disk, devices, labels"),
  ).action(async (opts: CommonOptions) => {
    const { nodes } = await client(opts).json<{ nodes: NodeSummary[] }>("GET", "/nodes");
    if (opts.output === "json") printJson(nodes);
    else if (nodes.length === 0) print("no nodes yet: start an agent (`iotfog agent --config FILE`)");
    else print(nodesTable(nodes));
  });

  const node = program.command("node").description("inspect or label one fog node");
  withApiOptions(
    node
      .command("inspect")
      .description("everything known about a node: capabilities, devices, live resources, replicas"),
  )
    .argument("<id>", "node id")
    .action(async (id: string, opts: CommonOptions) => {
      const n = await client(opts).json<NodeSummary>("GET", `/nodes/${encodeURIComponent(id)}`);
      if (opts.output === "json") printJson(n);
      else print(inspect(n));
    });
  withApiOptions(
    node
      .command("label")
      .description(
        "set (key=value) or remove (key-) operator labels; pushed to the node's agent, which keeps them across restarts",
      )
      .argument("<id>", "node id")
      .argument("<labels...>", "key=value to set, key- to remove")
      .addHelpText(
        "after",
        [
          "",
          "Keys: 1-128 letters, digits, '.', '_', '/' or '-', starting and ending with a letter or digit (no spaces).",
          "Values: up to 256 characters on one line, may be empty (key=). Constraints read them as node.labels.<key>.",
          "Labels set here override the agent configuration's labels; a removed configuration label stays removed.",
          "",
          "Examples:",
          "  iotfog node label pi-07 line=2 cell=press",
          "  iotfog node label pi-07 cell-",
        ].join("\n"),
      ),
  ).action(async (id: string, args: string[], opts: CommonOptions) => {
    const change = parseLabelArgs(args);
    const r = await client(opts).json<{ nodeId: string; labels: Record<string, string> }>(
      "PATCH",
      `/nodes/${encodeURIComponent(id)}/labels`,
      change,
    );
    if (opts.output === "json") printJson(r);
    else
      print(
        `${r.nodeId}: ${
          Object.entries(r.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ") || "(no labels)"
        }`,
      );
  });
}
