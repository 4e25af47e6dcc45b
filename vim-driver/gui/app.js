// OpenIoTFog fleet GUI: no framework, no build step, same-origin requests only (the server's CSP enforces it).
// Data comes from the fleet REST API with the bearer token; live updates from its event stream.
"use strict";

(() => {
  const API = "/api/v1";
  const TOKEN_KEY = "iotfog.token";
  /** @type {{ token: string, nodes: any[], deployments: any[], lastEventId: number, refreshTimer: number }} */
  const state = { token: "", nodes: [], deployments: [], lastEventId: 0, refreshTimer: 0 };

  // ------------------------------------------------------------------------------------------ helpers
  /** Builds an element; children are nodes or text (never parsed as HTML). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  /** The page's element with this id; the page defines every id the script asks for. */
  const $ = (id) => {
    const el = document.getElementById(id);
    if (el === null) throw new Error(`the page has no element #${id}`);
    return el;
  };

  // usage.js (loaded first) owns the byte formatter both scripts show figures with.
  const { bytes } = window.IotFogUsage;
  const cores = (n) => (n === undefined ? "-" : Number.isInteger(n) ? String(n) : n.toFixed(2));
  const time = (iso) => new Date(iso).toLocaleTimeString();

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const res = await fetch(API + path, {
      method,
      headers: {
        authorization: `Bearer ${state.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      if (res.status === 401) showLogin("The token was refused: " + ((json && json.error.message) || ""));
      throw new ApiError(res.status, json);
    }
    return json;
  }

  // ------------------------------------------------------------------------------------------ login
  function showLogin(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("main").classList.add("hidden");
    $("login").classList.remove("hidden");
    $("login-error").textContent = message || "";
  }

  function takeTokenFromUrl() {
    const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      // Keep the token out of the address bar, history and screenshots.
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  // ------------------------------------------------------------------------------------------ nodes
  function resourceRow(name, free, total, text) {
    const used = total > 0 ? Math.min(100, Math.max(0, ((total - free) / total) * 100)) : 0;
    const bar = h("span");
    bar.style.width = `${used.toFixed(0)}%`;
    return [h("span", { class: "meta" }, name), h("div", { class: "bar" }, bar), h("span", {}, text)];
  }

  function nodeCard(n) {
    const c = n.capabilities;
    const online = n.online;
    const card = h("article", {
      class: `card ${online ? "online" : "offline"}`,
      "data-node-id": n.nodeId,
      "data-online": String(online),
    });
    card.append(
      h(
        "div",
        { class: "head" },
        h("span", { class: "name" }, n.nodeId),
        h(
          "span",
          { class: `badge status ${online ? "online" : "offline"}` },
          online ? "online" : `offline (${n.offlineReason || "?"})`,
        ),
      ),
      h(
        "div",
        { class: "meta" },
        c
          ? `${c.hostname} · ${c.platform.os}/${c.platform.arch} · agent ${c.agentVersion}`
          : "capabilities not received yet",
      ),
    );
    if (c) {
      const free = n.free || {};
      card.append(
        h(
          "div",
          { class: "res" },
          resourceRow(
            "CPU",
            free.cpus ?? c.resources.cpu.cores,
            c.resources.cpu.cores,
            `${cores(free.cpus)} / ${cores(c.resources.cpu.cores)} cores free`,
          ),
          resourceRow(
            "Memory",
            free.memoryBytes ?? 0,
            c.resources.memory.totalBytes,
            `${bytes(free.memoryBytes)} / ${bytes(c.resources.memory.totalBytes)}`,
          ),
          resourceRow(
            "Disk",
            free.diskBytes ?? 0,
            c.resources.disk.totalBytes,
            `${bytes(free.diskBytes)} / ${bytes(c.resources.disk.totalBytes)}`,
          ),
        ),
        window.IotFogUsage.nodeBlock(n.nodeId),
        h("div", { class: "label-title" }, "Devices"),
        h(
          "div",
          { class: "chips devices" },
          c.devices.length === 0
            ? h("span", { class: "empty" }, "none")
            : c.devices.map((d) =>
                h(
                  "span",
                  { class: "chip device", "data-device-id": d.id, title: d.stablePath || d.path },
                  `${d.class}${d.vendorId ? ` ${d.vendorId}:${d.productId || "?"}` : ""}${d.product ? ` ${d.product}` : ""} · ${d.path}`,
                ),
              ),
        ),
        h("div", { class: "label-title" }, "Labels"),
        h(
          "div",
          { class: "chips labels" },
          Object.keys(c.labels).length === 0
            ? h("span", { class: "empty" }, "none")
            : Object.entries(c.labels).map(([k, v]) =>
                h("span", { class: "chip label" }, v === "" ? k : `${k}=${v}`),
              ),
        ),
      );
    }
    card.append(
      h("div", { class: "label-title" }, "Replicas"),
      h(
        "div",
        { class: "chips replicas" },
        n.replicas.length === 0
          ? h("span", { class: "empty" }, "none")
          : n.replicas.map((r) =>
              h(
                "span",
                { class: `chip replica state-${r.state}` },
                `${r.deploymentId}/${r.service}#${r.replica} ${r.state}`,
              ),
            ),
      ),
    );
    return card;
  }

  function renderNodes() {
    const box = $("nodes");
    box.replaceChildren(
      ...(state.nodes.length === 0
        ? [h("p", { class: "empty" }, "No nodes yet: start an agent (iotfog agent --config FILE).")]
        : state.nodes.map(nodeCard)),
    );
    const online = state.nodes.filter((n) => n.online).length;
    const replicas = state.deployments.reduce((s, d) => s + d.replicas.length, 0);
    $("summary").textContent =
      `${state.nodes.length} node(s), ${online} online · ${state.deployments.length} deployment(s), ${replicas} replica(s)`;
  }

  // ------------------------------------------------------------------------------------------ deployments
  function renderDeployments() {
    const box = $("deployments");
    if (state.deployments.length === 0) {
      box.replaceChildren(h("p", { class: "empty" }, "No deployments yet."));
      return;
    }
    const rows = [];
    for (const d of state.deployments) {
      const remove = h(
        "button",
        {
          class: "danger",
          type: "button",
          title: `remove ${d.id}`,
          onclick: async (ev) => {
            ev.target.disabled = true;
            try {
              await api("DELETE", `/deployments/${encodeURIComponent(d.id)}`);
            } catch (e) {
              alert(`Cannot remove ${d.id}: ${e.message}`);
            }
            scheduleRefresh();
          },
        },
        "remove",
      );
      d.replicas.forEach((r, i) => {
        rows.push(
          h(
            "tr",
            { "data-deployment-id": d.id, "data-node-id": r.nodeId },
            h("td", {}, i === 0 ? d.id : ""),
            h("td", {}, `${r.service}#${r.replica}`),
            h("td", { class: "node" }, r.nodeId),
            h(
              "td",
              { class: `state-${r.state}`, title: r.note || "" },
              r.note ? `${r.state}: ${r.note}` : r.state,
            ),
            ...window.IotFogUsage.replicaCells(state.nodes, r),
            h("td", {}, r.containerName || "-"),
            h("td", {}, i === 0 ? remove : ""),
          ),
        );
      });
      if (d.replicas.length === 0)
        rows.push(
          h("tr", { "data-deployment-id": d.id }, h("td", {}, d.id), h("td", { colspan: 7 }, d.status)),
        );
    }
    box.replaceChildren(
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Deployment", "Replica", "Node", "State", "CPU", "Memory", "Container", ""].map((t) =>
              h("th", {}, t),
            ),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  }

  async function refresh() {
    try {
      const [nodes, deployments] = await Promise.all([api("GET", "/nodes"), api("GET", "/deployments")]);
      state.nodes = nodes.nodes;
      state.deployments = deployments.deployments;
      renderDeployments();
      renderNodes();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) console.warn("refresh failed", e);
    }
  }

  function scheduleRefresh() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refresh, 80);
  }

  // ------------------------------------------------------------------------------------------ events
  function addEvent(e, fresh) {
    const list = $("events");
    const item = h(
      "li",
      { "data-type": e.type, "data-event-id": e.id, class: fresh ? "fresh" : "" },
      h("span", { class: "time" }, time(e.time)),
      h("span", { class: "type" }, e.type),
      h("span", { class: "message" }, e.message),
    );
    list.prepend(item);
    while (list.children.length > 200) list.lastElementChild?.remove();
  }

  /** Reads the SSE stream with fetch (EventSource cannot send the Authorization header); reconnects. */
  async function follow() {
    for (;;) {
      const indicator = $("stream-state");
      try {
        const res = await fetch(`${API}/events/stream?since=${state.lastEventId}`, {
          headers: { authorization: `Bearer ${state.token}`, accept: "text/event-stream" },
        });
        if (res.status === 401) {
          showLogin("The token was refused.");
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        indicator.textContent = "live";
        indicator.className = "stream on";
        // Catch up on what changed while disconnected.
        scheduleRefresh();
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += decoder.decode(value, { stream: true });
          let end;
          while ((end = buf.indexOf("\n\n")) >= 0) {
            const frame = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const data = frame
              .split("\n")
              .filter((l) => l.startsWith("data:"))
              .map((l) => l.slice(5).trimStart())
              .join("\n");
            if (!data) continue;
            const e = JSON.parse(data);
            if (e.id <= state.lastEventId) continue;
            state.lastEventId = e.id;
            addEvent(e, true);
            // Any change of a node, device or deployment redraws from the API: one source of truth.
            if (e.type !== "deployment.progress") scheduleRefresh();
          }
        }
      } catch (err) {
        console.warn("event stream interrupted", err);
      }
      indicator.textContent = "reconnecting…";
      indicator.className = "stream off";
      await new Promise((r) => setTimeout(r, 1500));
    }
  }

  // ------------------------------------------------------------------------------------------ deploy form
  function showResult(kind, ...content) {
    const box = $("deploy-result");
    box.className = `result ${kind}`;
    box.setAttribute("data-outcome", kind);
    box.replaceChildren(...content);
  }

  function decisionView(d) {
    const who = `${d.service}#${d.replica}`;
    const dec = d.decision;
    if (dec.ok) {
      return h(
        "li",
        { class: "placed", "data-node-id": dec.nodeId },
        `${who} → ${dec.nodeId} (score ${dec.finalScore.toFixed(1)})`,
      );
    }
    const nodes = dec.explanation.nodes.map((n) =>
      h(
        "div",
        { class: "node-explanation", "data-node-id": n.nodeId },
        h(
          "div",
          { class: "node" },
          `node ${n.nodeId}${n.feasible ? ": feasible but taken by another replica" : ""}`,
        ),
        h(
          "ul",
          {},
          n.failures.map((f) =>
            h(
              "li",
              { class: "failure" },
              h("span", { class: "pred" }, `[${f.filter}] ${f.predicate}`),
              h("span", { class: "seen" }, ` — seen: ${f.seen}`),
            ),
          ),
        ),
      ),
    );
    return h(
      "li",
      { class: "unplaceable" },
      h("strong", {}, `${who}: cannot be placed`),
      h("div", { class: "message" }, dec.message),
      h(
        "div",
        { class: "seen" },
        `${dec.explanation.nodesEvaluated} node(s) evaluated, ${dec.explanation.nodesFeasible} feasible`,
      ),
      ...nodes,
    );
  }

  function workload() {
    const blueprint = /** @type {HTMLTextAreaElement} */ ($("blueprint")).value;
    const name = /** @type {HTMLInputElement} */ ($("deploy-name")).value.trim();
    return { blueprint, ...(name ? { name } : {}) };
  }

  function setBusy(busy) {
    /** @type {HTMLButtonElement} */ ($("deploy-button")).disabled = busy;
    /** @type {HTMLButtonElement} */ ($("explain-button")).disabled = busy;
  }

  async function explain() {
    setBusy(true);
    try {
      const r = await api("POST", "/placement/explain", workload());
      showResult(
        r.feasible ? "ok" : "fail",
        h("h3", {}, r.feasible ? `${r.name}: every replica can be placed` : `${r.name}: cannot be placed`),
        h("ul", {}, r.decisions.map(decisionView)),
      );
    } catch (e) {
      showResult("fail", h("h3", {}, "Explain failed"), h("div", { class: "error" }, e.message));
    } finally {
      setBusy(false);
    }
  }

  async function deploy(ev) {
    ev.preventDefault();
    setBusy(true);
    showResult("busy", h("h3", {}, "Deploying…"));
    try {
      const d = await api("POST", "/deployments", workload());
      showResult(
        "ok",
        h("h3", {}, `Deployed ${d.id}`),
        h(
          "ul",
          {},
          d.replicas.map((r) =>
            h(
              "li",
              { class: "placed", "data-node-id": r.nodeId },
              `${r.service}#${r.replica} → ${r.nodeId} (${r.state}, ${r.containerName || "?"})`,
            ),
          ),
        ),
      );
      scheduleRefresh();
    } catch (e) {
      const decisions = e.body && e.body.error && e.body.error.details && e.body.error.details.decisions;
      if (e.status === 422 && Array.isArray(decisions)) {
        showResult(
          "fail",
          h("h3", {}, "Cannot place this blueprint: nothing was started"),
          h("div", { class: "error" }, e.message),
          h("ul", {}, decisions.filter((d) => !d.decision.ok).map(decisionView)),
        );
      } else {
        showResult("fail", h("h3", {}, "Deploy failed"), h("div", { class: "error" }, e.message));
      }
    } finally {
      setBusy(false);
    }
  }

  // ------------------------------------------------------------------------------------------ start
  async function start() {
    $("login").classList.add("hidden");
    $("main").classList.remove("hidden");
    try {
      const { events } = await api("GET", "/events?limit=100");
      for (const e of events) addEvent(e, false);
      if (events.length > 0) state.lastEventId = events[events.length - 1].id;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
    }
    await refresh();
    // Live resources (heartbeats) change without events: a slow poll keeps the figures current.
    setInterval(refresh, 5000);
    void follow();
    void window.IotFogUsage.start(api);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      state.token = /** @type {HTMLInputElement} */ ($("token-input")).value.trim();
      sessionStorage.setItem(TOKEN_KEY, state.token);
      void start();
    });
    $("deploy-form").addEventListener("submit", deploy);
    $("explain-button").addEventListener("click", explain);
    $("blueprint-file").addEventListener("change", async (ev) => {
      const input = /** @type {HTMLInputElement} */ (ev.target);
      const file = input.files && input.files[0];
      if (file) /** @type {HTMLTextAreaElement} */ ($("blueprint")).value = await file.text();
    });
    state.token = takeTokenFromUrl();
    if (state.token) void start();
    else showLogin("");
  });
})();
