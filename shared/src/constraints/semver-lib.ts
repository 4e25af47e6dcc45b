import type * as Semver from "semver";

let lib: typeof Semver | undefined;

/**
 * semver, required on the first version comparison rather than with the constraint code: most constraints never
 * compare versions, and the edge agent loads this package at start (about 0.5 MiB of a Pi's memory budget).
 */
export function semverLib(): typeof Semver {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (lib ??= require("semver") as typeof Semver);
}
