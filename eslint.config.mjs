// ESLint flat config with type-aware rules for every workspace package and the cross-package tests.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/node_modules/**",
      "coverage/**",
      "test-artifacts/**",
      "**/*.js",
      "**/*.mjs",
      "**/*.cjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Package sources use their own tsconfig; tests and benchmarks use tsconfig.test.json.
        project: [
          "./tsconfig.test.json",
          "./shared/tsconfig.json",
          "./edge-agent/tsconfig.json",
          "./vim-driver/tsconfig.json",
          "./vim-driver/tsconfig.gui.json",
          "./cli/tsconfig.json",
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/require-await": "off",
      eqeqeq: ["error", "always"],
      // A switch over a union names every member (or says `default:` on purpose): a new member is a compile-time
      // decision, not a silent fall-through.
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      // Output goes through the structured logger (createLogger); only entry points print (below).
      "no-console": "error",
    },
  },
  {
    // Entry points whose output is for a person: the CLI, benchmarks, scripts and tests.
    files: ["cli/src/**/*.ts", "bench/**/*.ts", "scripts/**/*.ts", "**/test/**/*.ts", "test/**/*.ts"],
    rules: { "no-console": "off" },
  },
  {
    // Tests poke at untyped JSON coming back over the wire; asserting on it is the point.
    files: ["**/test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
