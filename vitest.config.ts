import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Many tests run the real CLI and real job processes.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Most test files spend their time waiting on child processes (builds, jobs, a database
    // server), not on the CPU: three files at once on two cores (vitest's default would be
    // one, cores - 1) keeps the suite in minutes.
    maxWorkers: 3,
    exclude: ["**/node_modules/**", "bench/out/**", "examples/**/data/**"],
    // One throwaway PostgreSQL server per run, for the PostgreSQL event log's tests.
    globalSetup: ["src/testing/postgres-global-setup.ts"],
  },
});
