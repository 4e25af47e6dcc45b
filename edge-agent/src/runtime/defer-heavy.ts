import { readFileSync } from "node:fs";
import Module from "node:module";
import path from "node:path";
import { Readable } from "node:stream";
// Before any schema exists: zod's per-object bound methods (see lean-zod.ts).
import "./lean-zod";

/**
 * The agent's libraries load modules it needs rarely or never. Each of these is replaced by a stand-in in Node's
 * module cache that loads the real module on first call, so a Pi does not pay for them (figures: docs/agent.md,
 * "Memory"). This runs before those libraries load: it is the first import of the entry points and of docker.ts.
 *
 * - dockerode: its SSH transport (ssh2, ~18 MiB of native and wasm memory) and BuildKit session client (gRPC +
 *   protobuf, ~10 MiB): the agent talks to the local Engine socket; tar-fs: image builds only.
 * - MQTT.js: the WebSocket transport (ws) and SOCKS proxy support (socks, ip-address, smart-buffer), used only for
 *   ws:// URLs or a socksProxy option; worker-timers (browsers only); lru-cache (MQTT 5 topic aliases only).
 * - js-yaml: its dumper (the agent only reads YAML).
 * And MQTT.js gets Node's own streams instead of its copy of readable-stream (coreStreamsForMqtt below).
 *
 * Deferred modules export functions only (lru-cache: a class), which is what makes a stand-in safe;
 * edge-agent/test/memory.test.ts checks every stand-in has the real module's exports. If a release moves a
 * module, resolution fails and nothing is deferred.
 */

/** What a deferred module exports: a single function, or named functions and classes. */
export interface DeferredShape {
  functions?: readonly string[];
  classes?: readonly string[];
  /** Marks the stand-in as a compiled ES module (`exports.default = ...`), as the real one is. */
  esModule?: boolean;
}

export interface DeferredModule {
  request: string;
  /** A file of the package that requires it (resolution starts there). */
  from: string;
  /** Omitted: the module exports a single function. */
  shape?: DeferredShape;
}

type Fn = (...args: unknown[]) => unknown;
/** Node's module cache (also under jest, whose own `require.cache` is a separate registry). */
const moduleCache = Module.createRequire(__filename).cache;
type Ctor = new (...args: unknown[]) => unknown;

/** The modules deferred, where their packages are installed (a package that cannot be found is skipped). */
export function deferredModules(): DeferredModule[] {
  const out: DeferredModule[] = [];
  const tryAdd = (add: () => DeferredModule[]): void => {
    try {
      out.push(...add());
    } catch {
      // Package (or file) not there in this release: nothing to defer.
    }
  };
  tryAdd(() => {
    const dockerode = require.resolve("dockerode");
    return [
      { request: "./session.js", from: dockerode },
      { request: "docker-modem/lib/ssh.js", from: dockerode },
      {
        request: "tar-fs",
        from: Module.createRequire(dockerode).resolve("./util.js"),
        shape: { functions: ["pack", "extract"] },
      },
    ];
  });
  tryAdd(() => {
    const mqtt = require.resolve("mqtt");
    const lib = Module.createRequire(mqtt);
    return [
      {
        request: "./ws.js",
        from: lib.resolve("./lib/connect/index.js"),
        shape: { functions: ["streamBuilder", "browserStreamBuilder"], esModule: true },
      },
      {
        request: "./socks.js",
        from: lib.resolve("./lib/connect/tcp.js"),
        shape: { functions: ["default"], esModule: true },
      },
      {
        request: "worker-timers",
        from: lib.resolve("./lib/get-timer.js"),
        shape: { functions: ["setInterval", "clearInterval", "setTimeout", "clearTimeout"] },
      },
      {
        request: "lru-cache",
        from: lib.resolve("./lib/topic-alias-send.js"),
        shape: { classes: ["LRUCache"] },
      },
    ];
  });
  tryAdd(() => {
    // js-yaml as the shared package (the config loader) resolves it.
    const jsYaml = Module.createRequire(require.resolve("@openiotfog/shared")).resolve("js-yaml");
    return [{ request: "./lib/dumper.js", from: jsYaml, shape: { functions: ["dump"] } }];
  });
  return out;
}

/** Puts a stand-in for `request` (as `from` resolves it) into the module cache, unless it is loaded already. */
export function deferModule({ request, from, shape }: DeferredModule): boolean {
  let file: string;
  let load: NodeJS.Require;
  try {
    load = Module.createRequire(from);
    file = load.resolve(request);
  } catch {
    return false;
  }
  if (moduleCache[file] !== undefined) return false;
  const stand = new Module(file);
  stand.filename = file;
  stand.loaded = true;
  const real = (): unknown => {
    if (moduleCache[file] === stand) delete moduleCache[file];
    return load(request);
  };
  if (shape === undefined) {
    stand.exports = function deferred(this: unknown, ...args: unknown[]): unknown {
      return (real() as Fn).apply(this, args);
    };
  } else {
    const exports: Record<string, unknown> = shape.esModule === true ? { __esModule: true } : {};
    for (const name of shape.functions ?? []) {
      exports[name] = function deferred(this: unknown, ...args: unknown[]): unknown {
        return (real() as Record<string, Fn>)[name]!.apply(this, args);
      };
    }
    for (const name of shape.classes ?? []) {
      // Called with `new`: returning the real instance makes `new Stand()` give one.
      exports[name] = function Deferred(...args: unknown[]): unknown {
        const Real = (real() as Record<string, Ctor>)[name]!;
        return new Real(...args);
      };
    }
    stand.exports = exports;
  }
  moduleCache[file] = stand;
  return true;
}

function packageVersion(entry: string, name: string): string | undefined {
  const marker = `${path.sep}node_modules${path.sep}${name}${path.sep}`;
  const at = entry.lastIndexOf(marker);
  if (at < 0) return undefined;
  try {
    const pkg = JSON.parse(readFileSync(entry.slice(0, at + marker.length) + "package.json", "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * MQTT.js and bl (under its packet parser) each carry a copy of readable-stream 4, a userland copy of Node's
 * stream code (npm cannot hoist them above winston's readable-stream 3). readable-stream 4 has a switch,
 * READABLE_STREAM=disable, that makes it hand out Node's own streams instead. It cannot be set for the whole
 * process (readable-stream 3 throws with it on Node 20), so it is set only while MQTT.js's copy loads, and bl is
 * given that copy when it is the same release: about 1 MiB less. An operator's own READABLE_STREAM is left to
 * decide. Returns whether MQTT.js's copy now hands out Node's streams.
 */
export function coreStreamsForMqtt(): boolean {
  try {
    const fromMqtt = Module.createRequire(require.resolve("mqtt"));
    const mqttCopy = fromMqtt.resolve("readable-stream");
    const version = packageVersion(mqttCopy, "readable-stream");
    if (moduleCache[mqttCopy] !== undefined || version?.startsWith("4.") !== true) return false;
    if (process.env.READABLE_STREAM !== undefined) return false;
    process.env.READABLE_STREAM = "disable";
    let streams: { Readable?: unknown };
    try {
      streams = fromMqtt("readable-stream") as { Readable?: unknown };
    } finally {
      delete process.env.READABLE_STREAM;
    }
    const bl = Module.createRequire(Module.createRequire(fromMqtt.resolve("mqtt-packet")).resolve("bl"));
    const blCopy = bl.resolve("readable-stream");
    if (
      blCopy !== mqttCopy &&
      moduleCache[blCopy] === undefined &&
      packageVersion(blCopy, "readable-stream") === version
    ) {
      const alias = new Module(blCopy);
      alias.filename = blCopy;
      alias.loaded = true;
      alias.exports = streams;
      moduleCache[blCopy] = alias;
    }
    return streams.Readable === Readable;
  } catch {
    return false;
  }
}

for (const m of deferredModules()) deferModule(m);
coreStreamsForMqtt();
