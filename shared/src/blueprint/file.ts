import { readFile } from "node:fs/promises";
import { IotFogError, errorMessage } from "../errors";
import { parseBlueprint, type Blueprint } from "./parse";

/** Reads and parses a blueprint file: the only I/O of the blueprint module (the parser itself is pure). */
export async function loadBlueprintFile(path: string): Promise<Blueprint> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new IotFogError(
      code === "ENOENT" ? "NOT_FOUND" : "VALIDATION_FAILED",
      code === "ENOENT"
        ? `blueprint file not found: ${path}`
        : `cannot read blueprint ${path}: ${errorMessage(e)}`,
    );
  }
  return parseBlueprint(text, path);
}
