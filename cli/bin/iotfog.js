#!/usr/bin/env node
"use strict";
// Thin launcher: the CLI is TypeScript compiled to cli/dist by `npm run build`.
let cli;
try {
  cli = require("../dist/main.js");
} catch (e) {
  if (e && e.code === "MODULE_NOT_FOUND" && String(e.message).includes("dist/main.js")) {
    process.stderr.write(
      "iotfog: not built yet; run `npm install && npm run build` in the repository first\n",
    );
    process.exit(1);
  }
  throw e;
}
// Exit explicitly once the command is done: a long-running command has already stopped its components.
cli.main(process.argv).then((code) => process.exit(code));
