// Lint rules, including the architecture: the core (refs, graph model,
// planning, event types) imports no I/O library and nothing outside itself;
// outer layers depend on the core, never the reverse.
import tseslint from "typescript-eslint";

const io = ["node:*", "fs", "path", "child_process", "better-sqlite3", "pg", "commander", "yaml", "tsx", "tsx/*"];
const outerLayers = [
  "**/cli/**",
  "**/loader/**",
  "**/manifest/**",
  "**/event-log/**",
  "**/executor/**",
  "**/wrapper/**",
  "**/service/**",
  "**/dashboard/**",
];

function forbid(patterns, message) {
  return { "no-restricted-imports": ["error", { patterns: [{ group: patterns, message }] }] };
}

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "src/gen/", "bench/out/", "examples/**/data/", "**/.databuild/"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    files: ["src/core/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: forbid(
      [...io, ...outerLayers, "**/planner/**", "**/gsl/**"],
      "src/core depends on nothing but src/gen and @bufbuild/protobuf.",
    ),
  },
  {
    files: ["src/planner/**/*.ts", "src/gsl/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: forbid([...io, ...outerLayers], "The planner and the GSL depend only on the core: no I/O, no outer layers."),
  },
);
