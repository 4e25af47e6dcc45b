import type { VnfRecordDependency } from "./messages";

/**
 * Dependency values (MODIFY's `vnfrd`, START's `vnfrDependency`, SCALE_OUT's `dependency`) as environment
 * variables, named the way Open Baton's Docker VNFM names them (go-docker-vnfm `GetEnv`): `<SOURCE TYPE>_<KEY>`
 * upper-cased, e.g. `requires: {iperf-server: {parameters: [hostname]}}` with the server's type `server` gives
 * `SERVER_HOSTNAME=<the server VNFC's hostname>`.
 *
 * The NFVO (DependencyManagement) puts VNFC values (`hostname`, `<vl>` addresses, `<vl>_floatingIp`) in
 * `vnfcParameters[<type>].parameters[<vnfc id>]` and VNF configuration values in `parameters[<type>]`. When the
 * source has several VNFCs, the first by VNFC id wins the plain name (go-docker-vnfm took whichever its map
 * iteration gave last); every VNFC's value is also available as `<TYPE>_<KEY>_<n>` (n = 1, 2, ... in id order) so
 * a client can use them all.
 */
export function dependencyEnv(dependency: VnfRecordDependency | null | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  if (dependency === null || dependency === undefined) return env;
  const name = (type: string, key: string): string => `${type}_${key}`.toUpperCase();
  for (const [type, perVnfc] of Object.entries(dependency.vnfcParameters ?? {})) {
    const instances = Object.entries(perVnfc.parameters ?? {}).sort(([a], [b]) => a.localeCompare(b));
    instances.forEach(([, values], i) => {
      for (const [key, value] of Object.entries(values.parameters)) {
        if (value === "") continue;
        env[name(type, key)] ??= value;
        if (instances.length > 1) env[`${name(type, key)}_${i + 1}`] = value;
      }
    });
  }
  for (const [type, values] of Object.entries(dependency.parameters ?? {})) {
    for (const [key, value] of Object.entries(values.parameters)) {
      // go-docker-vnfm drops empty VNF-level values (a `provides` key nobody filled in).
      if (value !== "") env[name(type, key)] = value;
    }
  }
  return env;
}

/** Merges dependency envs: later sources win per variable (a second MODIFY updates what the first set). */
export function mergeEnv(...parts: Array<Record<string, string>>): Record<string, string> {
  return Object.assign({}, ...parts) as Record<string, string>;
}
