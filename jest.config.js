// Three projects: unit (pure logic, no services), integration (real RabbitMQ, Mosquitto, Docker),
// e2e (whole processes and a real browser). Workspace packages resolve to their TypeScript sources,
// so tests never run against a stale build; the type check itself is `tsc -b` plus `tsc -p tsconfig.test.json`
// (which sets isolatedModules, so ts-jest only transpiles).
const moduleNameMapper = {
  "^@openiotfog/(shared|edge-agent|vim-driver|cli)$": "<rootDir>/$1/src/index.ts",
  "^@openiotfog/(shared|edge-agent|vim-driver|cli)/(.*)$": "<rootDir>/$1/src/$2",
};
const transform = {
  "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.test.json" }],
};
const common = { testEnvironment: "node", moduleNameMapper, transform, rootDir: __dirname };

module.exports = {
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: [
        "<rootDir>/{shared,edge-agent,vim-driver,cli}/test/**/*.test.ts",
        "<rootDir>/test/unit/**/*.test.ts",
      ],
    },
    {
      ...common,
      displayName: "integration",
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/test/helpers/timeout-integration.ts"],
    },
    {
      ...common,
      displayName: "e2e",
      testMatch: ["<rootDir>/test/e2e/**/*.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/test/helpers/timeout-e2e.ts"],
    },
  ],
};
