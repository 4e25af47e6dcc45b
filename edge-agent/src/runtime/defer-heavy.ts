import Module from "node:module";

/**
 * dockerode loads its SSH transport (ssh2, ~18 MiB of native and wasm memory) and its BuildKit session client
 * (gRPC + protobuf, ~10 MiB) when it is required, though the agent only talks to the local Engine socket. On a
 * Pi that is half the agent's memory budget, so both are replaced by stand-ins that load the real module on
 * first call. Both modules export a single function, which is what makes this safe; if a dockerode release
 * moves them, resolution fails and nothing is deferred.
 */
function deferFunctionModule(request: string, from: string): void {
  let file: string;
  let load: NodeJS.Require;
  try {
    load = Module.createRequire(from);
    file = load.resolve(request);
  } catch {
    return;
  }
  if (require.cache[file] !== undefined) return;
  const stand = new Module(file);
  stand.filename = file;
  stand.loaded = true;
  stand.exports = function deferred(this: unknown, ...args: unknown[]): unknown {
    delete require.cache[file];
    const real = load(request) as (...a: unknown[]) => unknown;
    return real.apply(this, args);
  };
  require.cache[file] = stand;
}

try {
  const dockerode = require.resolve("dockerode");
  deferFunctionModule("./session.js", dockerode);
  deferFunctionModule("docker-modem/lib/ssh.js", dockerode);
} catch {
  // dockerode not resolvable from here: nothing to defer.
}
