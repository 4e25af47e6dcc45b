import path from "node:path";
import ts from "typescript";

/**
 * The fleet GUI's scripts (vim-driver/gui/*.js) run in the browser as they are; they are type-checked like the
 * rest of the code through JSDoc and checkJs (vim-driver/tsconfig.gui.json). Part of the unit suite, so CI and
 * every landing run it.
 */
describe("fleet GUI scripts", () => {
  it("type-check with vim-driver/tsconfig.gui.json", () => {
    const file = path.resolve(__dirname, "../tsconfig.gui.json");
    const problems: string[] = [];
    const parsed = ts.getParsedCommandLineOfConfigFile(
      file,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) =>
          problems.push(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
      },
    );
    expect(problems).toEqual([]);
    if (parsed === undefined) throw new Error(`cannot read ${file}`);
    expect(parsed.fileNames.map((f) => path.basename(f)).sort()).toEqual([
      "app.js",
      "globals.d.ts",
      "usage.js",
    ]);
    const program = ts.createProgram(parsed.fileNames, parsed.options);
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where =
        d.file === undefined || d.start === undefined
          ? ""
          : `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: `;
      return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
    });
    expect(diagnostics).toEqual([]);
  });
});
