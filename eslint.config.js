// Lint rules, including the architecture: the core (refs, graph model,
// planning, event types) imports no I/O library and nothing outside itself;
// outer layers depend on the core, never the reverse. Each folder may import
// only what it should (docs/architecture.md has the layers), and a folder
// with an entry (index.ts) is imported through it from outside.
//
// One config object per set of files: ESLint keeps only the last
// `no-restricted-imports` that matches a file, so the file sets below do not
// overlap (except where a later object narrows an earlier one on purpose).
import tseslint from "typescript-eslint";

const io = ["node:*", "fs", "path", "child_process", "better-sqlite3", "pg", "commander", "yaml", "tsx", "tsx/*"];
const outerLayers = [
  "**/cli/**",
  "**/loader/**",
  "**/manifest/**",
  "**/event-log/**",
  "**/executor/**",
  "**/coordination/**",
  "**/wrapper/**",
  "**/workers/**",
  "**/launchers/**",
  "**/compile/**",
  "**/package/**",
  "**/service/**",
  "**/dashboard/**",
];
const tests = "**/*.test.ts";

/** A forbidden group of import patterns and the message that says why. */
const group = (patterns, message) => ({ group: patterns, message });

function forbid(...groups) {
  return { "no-restricted-imports": ["error", { patterns: groups }] };
}

/** Outside `src/<folder>/`, import it only through its entry. */
function throughEntry(folder) {
  return group(
    [`**/${folder}/**`, `!**/${folder}/index.ts`],
    `Import src/${folder}/ through its entry, src/${folder}/index.ts (what it exports is its interface).`,
  );
}

const noCli = group(
  ["**/cli/**"],
  "Nothing imports src/cli/ (the composition root: commands, options, output) but bin/ and tests.",
);
const eventLogPort = (folder) =>
  group(
    ["**/event-log/**"],
    `src/${folder} uses the EventLog port (src/core/event-log.ts); the backends in src/event-log/ are chosen by src/cli.`,
  );
const coordinationLayers = group(
  [
    "**/cli/**",
    "**/executor/**",
    "**/wrapper/**",
    "**/loader/**",
    "**/manifest/**",
    "**/gsl/**",
    "**/service/**",
    "**/dashboard/**",
  ],
  "src/coordination depends on the core (its ports included) and the planner only, never on the layers that use it.",
);
/** The one file of src/coordination that touches the system: the /proc implementation of the HostProcesses port. */
const procHost = "src/coordination/proc-host-processes.ts";

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
    ignores: [tests],
    rules: forbid(
      group(
        [...io, ...outerLayers, "**/planner/**", "**/gsl/**"],
        "src/core depends on nothing but src/gen and @bufbuild/protobuf.",
      ),
    ),
  },
  {
    files: ["src/planner/**/*.ts", "src/gsl/**/*.ts"],
    ignores: [tests],
    rules: forbid(
      group([...io, ...outerLayers], "The planner and the GSL depend only on the core: no I/O, no outer layers."),
    ),
  },
  {
    files: ["src/compile/**/*.ts"],
    ignores: [tests],
    rules: forbid(
      group(
        [...io, ...outerLayers, "**/planner/**", "**/gsl/**"],
        "src/compile turns a JobGraph into a script: it depends on the core only (src/cli plans, and writes the file).",
      ),
    ),
  },
  {
    files: ["src/coordination/**/*.ts"],
    ignores: [tests, procHost],
    rules: forbid(
      group(
        io,
        `src/coordination decides on the log and the host's answers (the HostProcesses port); only ${procHost} touches the system.`,
      ),
      coordinationLayers,
      eventLogPort("coordination"),
    ),
  },
  {
    files: [procHost],
    rules: forbid(coordinationLayers, eventLogPort("coordination")),
  },
  {
    files: ["src/executor/**/*.ts"],
    ignores: [tests],
    rules: forbid(
      group(
        [
          "**/cli/**",
          "**/wrapper/**",
          "**/loader/**",
          "**/manifest/**",
          "**/gsl/**",
          "**/service/**",
          "**/dashboard/**",
        ],
        "src/executor runs builds through ports (EventLog, JobRunner, HostProcesses): it depends on the core, the planner and src/coordination only; src/cli wires in the implementations.",
      ),
      eventLogPort("executor"),
      throughEntry("coordination"),
    ),
  },
  {
    files: ["src/workers/**/*.ts"],
    ignores: [tests],
    rules: forbid(
      group(
        [
          ...io.filter((p) => p !== "node:*"),
          "**/cli/**",
          "**/wrapper/**",
          "**/loader/**",
          "**/manifest/**",
          "**/gsl/**",
        ],
        "src/workers runs job runs through the ports (EventLog, JobRunner, HostProcesses): src/cli wires in the exec wrapper and the log.",
      ),
      eventLogPort("workers"),
      throughEntry("coordination"),
    ),
  },
  {
    files: ["src/launchers/**/*.ts"],
    ignores: [tests],
    rules: forbid(
      group(
        [
          ...io.filter((p) => p !== "node:*"),
          "**/cli/**",
          "**/wrapper/**",
          "**/loader/**",
          "**/manifest/**",
          "**/gsl/**",
          "**/executor/**",
          "**/event-log/**",
          "**/workers/**",
        ],
        "src/launchers hand job runs to other systems through the JobRunner port and record nothing themselves (the build does): they depend on the core and Node only; src/cli wires them in.",
      ),
      throughEntry("coordination"),
    ),
  },
  {
    files: ["src/cli/**/*.ts"],
    ignores: [tests],
    rules: forbid(
      throughEntry("coordination"),
      throughEntry("event-log"),
      throughEntry("wrapper"),
      throughEntry("workers"),
      throughEntry("tokens"),
      throughEntry("triggers"),
      throughEntry("service"),
      throughEntry("dashboard"),
      throughEntry("compile"),
      throughEntry("package"),
      throughEntry("launchers/slurm"),
    ),
  },
  {
    files: ["src/tokens/**/*.ts"],
    ignores: [tests],
    rules: forbid(
      group(
        [...io.filter((p) => p !== "node:*"), ...outerLayers.filter((p) => p !== "**/coordination/**")],
        "src/tokens decides on the log through the EventLog port: it depends on the core and src/coordination only.",
      ),
      throughEntry("coordination"),
    ),
  },
  {
    files: ["src/triggers/**/*.ts"],
    ignores: [tests],
    rules: forbid(
      group(
        [
          ...io,
          "**/cli/**",
          "**/event-log/**",
          "**/wrapper/**",
          "**/workers/**",
          "**/loader/**",
          "**/manifest/**",
          "**/service/**",
          "**/dashboard/**",
        ],
        "src/triggers evaluates schedules and sensors on the log (the EventLog port) and hands builds to its caller: core, planner, coordination and the executor's request types only.",
      ),
      throughEntry("coordination"),
    ),
  },
  {
    files: ["src/service/**/*.ts"],
    ignores: [tests, "src/service/**/service-testing.ts", "src/service/fixtures/**"],
    rules: forbid(
      noCli,
      eventLogPort("service"),
      throughEntry("coordination"),
      throughEntry("tokens"),
      throughEntry("triggers"),
      throughEntry("dashboard"),
      throughEntry("wrapper"),
      throughEntry("workers"),
    ),
  },
  {
    files: ["src/dashboard/**/*.ts"],
    ignores: [tests, "src/dashboard/testing/**", "src/dashboard/app/**"],
    rules: forbid(
      noCli,
      group(
        ["**/event-log/**", "**/executor/**", "**/coordination/**", "**/wrapper/**", "**/workers/**", "**/service/**"],
        "src/dashboard is the browser app, its static files and its one RPC: it reads the log only through the service's API (the LiveLog it is handed).",
      ),
    ),
  },
  {
    // Every other folder of src/ (event-log, wrapper, manifest, loader, testing, the public API).
    files: ["src/**/*.ts"],
    ignores: [
      tests,
      "src/core/**",
      "src/planner/**",
      "src/gsl/**",
      "src/coordination/**",
      "src/executor/**",
      "src/workers/**",
      "src/compile/**",
      "src/launchers/**",
      "src/cli/**",
      "src/tokens/**",
      "src/triggers/**",
      "src/service/**",
      "src/dashboard/**",
    ],
    rules: forbid(noCli, throughEntry("coordination")),
  },
  {
    // Tests (and scripts) may reach into any folder, except past coordination's entry from outside it.
    files: [tests, "scripts/**/*.ts", "bench/**/*.ts"],
    ignores: ["src/coordination/**"],
    rules: forbid(throughEntry("coordination")),
  },
);
