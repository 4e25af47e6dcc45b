import type * as Re2js from "re2js";

/**
 * Regular expressions whose pattern or text can come from outside (constraints from Open Baton or the fleet
 * API, USB strings a plugged-in device reports) run on RE2 through re2js, a pure JavaScript port: matching
 * takes time linear in the text whatever the pattern, where JavaScript's backtracking engine can spend minutes
 * on `(a+)+$`. re2js rather than the native `re2` binding: nothing to compile on a Pi, no prebuilt binary to
 * download, the same code on arm64 and x86_64. RE2 syntax has no back-references and no look-around; a pattern
 * that uses them is reported as invalid. Compiling is linear in the pattern's length, which is bounded.
 */
export const MAX_PATTERN_LENGTH = 512;

let re2: typeof Re2js.RE2JS | undefined;
/** Loaded on the first pattern rather than at start (about 0.3 MiB a process may never need). */
function re2Lib(): typeof Re2js.RE2JS {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (re2 ??= (require("re2js") as typeof Re2js).RE2JS);
}

export interface LinearRegExp {
  /** The pattern matches somewhere in the text. */
  test(text: string): boolean;
  /** The pattern matches the whole text. */
  matches(text: string): boolean;
}

/** Thrown for a pattern that is too long or not valid RE2 syntax; the message says which and why. */
export class PatternSyntaxError extends Error {
  override name = "PatternSyntaxError";
}

export function compileLinearRegExp(source: string, opts: { ignoreCase?: boolean } = {}): LinearRegExp {
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new PatternSyntaxError(
      `regular expression is ${source.length} characters long; at most ${MAX_PATTERN_LENGTH} are allowed`,
    );
  }
  const lib = re2Lib();
  let re: Re2js.RE2JS;
  try {
    re = lib.compile(source, opts.ignoreCase === true ? lib.CASE_INSENSITIVE : 0);
  } catch (e) {
    const reason = (e as Error).message.replace(/^error parsing regexp: /, "");
    throw new PatternSyntaxError(`invalid regular expression ${JSON.stringify(source)}: ${reason}`);
  }
  return { test: (text) => re.test(text), matches: (text) => re.matches(text) };
}
