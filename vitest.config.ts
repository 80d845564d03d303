import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Many tests run the real CLI and real job processes.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    exclude: ["**/node_modules/**", "bench/out/**", "examples/**/data/**"],
    // One throwaway PostgreSQL server per run, for the PostgreSQL event log's tests.
    globalSetup: ["src/testing/postgres-global-setup.ts"],
  },
});
