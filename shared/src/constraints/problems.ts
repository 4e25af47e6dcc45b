import { IotFogError } from "../errors";
import { fieldPath } from "../validation";

/** One thing wrong with user input, with where it is (so a blueprint can name the line). */
export interface InputProblem {
  path: Array<string | number>;
  message: string;
}

/** Thrown (as IotFogError VALIDATION_FAILED) with every problem, each naming its field. */
export function problemsError(source: string, problems: InputProblem[]): IotFogError {
  const lines = problems.map((p) => `field "${fieldPath(p.path)}": ${p.message}`);
  return new IotFogError("VALIDATION_FAILED", `${source}: ${lines.join("; ")}`, {
    problems: lines,
    paths: problems,
  });
}

/** Problems carried by an error from problemsError / parseWith, re-rooted under `prefix`. */
export function problemsOf(error: unknown, prefix: Array<string | number>): InputProblem[] | undefined {
  if (!(error instanceof IotFogError) || error.code !== "VALIDATION_FAILED") return undefined;
  const paths = error.details?.paths;
  if (!Array.isArray(paths)) return undefined;
  return (paths as InputProblem[]).map((p) => ({ path: [...prefix, ...p.path], message: p.message }));
}

/** A single-problem error for one constraint, thrown by operator compilers. */
export class ConstraintProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConstraintProblem";
  }
}
