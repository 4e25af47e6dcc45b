// Node CPU/memory sparklines and per-replica CPU/memory for the fleet GUI (docs/metrics.md, "Figures in the fleet
// API, CLI and GUI"). Kept apart from app.js: app.js calls nodeBlock(), replicaCells() and start(api).
// The history comes from the driver (GET /api/v1/usage, the agents' usage messages kept 15 minutes); this file
// asks only for the points it has not seen and keeps its own copy bounded the same way.
"use strict";

window.IotFogUsage = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  /** The span a sparkline shows at most. */
  const SHOWN_MS = 10 * 60_000;
  const POLL_MS = 3000;
  const WIDTH = 160;
  const HEIGHT = 28;

  /** @type {{ since: number, now: number, windowMs: number, nodes: Map<string, any>, timer: number }} */
  const usage = { since: 0, now: 0, windowMs: 15 * 60_000, nodes: new Map(), timer: 0 };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  }

  function bytes(n) {
    if (n === undefined || n === null) return "-";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = Math.max(0, n);
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
  }
  const percent = (f) => `${(f * 100).toFixed(f < 0.1 ? 1 : 0)}%`;

  /** Merges the driver's answer: new points appended, points older than the window dropped. */
  function merge(answer) {
    usage.now = answer.now;
    usage.windowMs = answer.windowMs;
    const seen = new Set();
    for (const n of answer.nodes) {
      seen.add(n.nodeId);
      const known = usage.nodes.get(n.nodeId);
      const points = known ? known.points : [];
      const last = points.length > 0 ? points[points.length - 1].t : -1;
      for (const p of n.points) if (p.t > last) points.push(p);
      const oldest = answer.now - answer.windowMs;
      while (points.length > 0 && points[0].t < oldest) points.shift();
      usage.nodes.set(n.nodeId, { ...n, points });
    }
    for (const id of [...usage.nodes.keys()]) if (!seen.has(id)) usage.nodes.delete(id);
    // One millisecond back: a point the driver received in the very millisecond it answered is not missed.
    usage.since = Math.max(0, answer.now - 1);
  }

  /**
   * A sparkline of `values` (fractions 0..1) over time: an SVG path, its points also in data-points so tests
   * and tools can count them.
   */
  function sparkline(kind, points, value) {
    const box = svg("svg", {
      class: `spark ${kind}`,
      width: "100%",
      height: HEIGHT,
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      preserveAspectRatio: "none",
      "data-kind": kind,
      role: "img",
    });
    const drawn = points.filter((p) => value(p) !== undefined);
    box.setAttribute("data-points", String(drawn.length));
    if (drawn.length === 0) return box;
    const end = usage.now || drawn[drawn.length - 1].t;
    const start = Math.max(drawn[0].t, end - SHOWN_MS);
    const span = Math.max(1, end - start);
    const xy = drawn
      .filter((p) => p.t >= start)
      .map((p) => {
        const x = ((p.t - start) / span) * (WIDTH - 2) + 1;
        const y = HEIGHT - 1 - Math.min(1, Math.max(0, value(p))) * (HEIGHT - 2);
        return [x.toFixed(1), y.toFixed(1)];
      });
    const line = xy.map(([x, y], i) => `${i === 0 ? "M" : "L"}${x},${y}`).join(" ");
    const area = `${line} L${xy[xy.length - 1][0]},${HEIGHT} L${xy[0][0]},${HEIGHT} Z`;
    box.append(svg("path", { class: "area", d: area }), svg("path", { class: "line", d: line }));
    return box;
  }

  function spanText(points) {
    if (points.length < 2) return "";
    const ms = Math.min(SHOWN_MS, (usage.now || points[points.length - 1].t) - points[0].t);
    return ms < 90_000
      ? `last ${Math.max(1, Math.round(ms / 1000))} s`
      : `last ${Math.round(ms / 60_000)} min`;
  }

  /** The usage block of a node's card: CPU and memory sparklines with the latest figures. */
  function nodeBlock(nodeId) {
    const block = el("div", { class: "usage", "data-usage-node": nodeId });
    fillNode(block, nodeId);
    return block;
  }

  function fillNode(block, nodeId) {
    const h = usage.nodes.get(nodeId);
    if (!h || h.points.length === 0) {
      block.replaceChildren(el("span", { class: "empty" }, "no usage figures yet"));
      return;
    }
    const latest = h.points[h.points.length - 1];
    const cpu = (p) => (p.cpuBusyCores === undefined ? undefined : p.cpuBusyCores / h.cpuCores);
    const mem = (p) => (h.memoryTotalBytes > 0 ? p.memoryUsedBytes / h.memoryTotalBytes : undefined);
    const lastCpu = [...h.points].reverse().find((p) => p.cpuBusyCores !== undefined);
    block.replaceChildren(
      el("span", { class: "meta" }, "CPU"),
      sparkline("cpu", h.points, cpu),
      el("span", { class: "figure cpu" }, lastCpu ? `${percent(cpu(lastCpu))} of ${h.cpuCores} cores` : "-"),
      el("span", { class: "meta" }, "Memory"),
      sparkline("memory", h.points, mem),
      el(
        "span",
        { class: "figure memory" },
        `${bytes(latest.memoryUsedBytes)} / ${bytes(h.memoryTotalBytes)}`,
      ),
      el("span", { class: "span" }, spanText(h.points)),
    );
  }

  /** The CPU and memory cells of a replica's row, from its node's last usage message (GET /nodes). */
  function replicaCells(nodes, replica) {
    const node = nodes.find((n) => n.nodeId === replica.nodeId);
    const f = ((node && node.containers) || []).find((c) => c.deploymentId === replica.agentDeploymentId);
    const cpu = f && f.cpuCores !== undefined ? percent(f.cpuCores) : "-";
    const mem = f ? `${bytes(f.memoryBytes)} / ${bytes(f.memoryLimitBytes)}` : "-";
    return [
      el("td", { class: "usage-cpu", title: "CPU, 100% = one core" }, cpu),
      el("td", { class: "usage-memory", title: "working set / limit" }, mem),
    ];
  }

  /** Polls the driver's history and redraws the sparklines in place (the cards are not rebuilt). */
  async function poll(api) {
    try {
      merge(await api("GET", `/usage?since=${usage.since}`));
      for (const block of document.querySelectorAll("[data-usage-node]"))
        fillNode(block, block.getAttribute("data-usage-node"));
    } catch (e) {
      console.warn("usage poll failed", e);
    }
  }

  async function start(api) {
    clearInterval(usage.timer);
    await poll(api);
    usage.timer = setInterval(() => void poll(api), POLL_MS);
  }

  return { nodeBlock, replicaCells, start, bytes };
})();
