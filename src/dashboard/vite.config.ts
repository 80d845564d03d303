/**
 * The dashboard's build: a React single-page app under app/, built into
 * dist/dashboard/ (at install time, by the `prepare` script, and by
 * `npm run build:dashboard`). serveDashboard (index.ts) serves what it writes.
 */
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL("./app/", import.meta.url));
export const DASHBOARD_OUT_DIR = fileURLToPath(new URL("../../dist/dashboard/", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  plugins: [react()],
  // Not the repository's public/ folder: the app has no static files besides its build.
  publicDir: false,
  logLevel: "warn",
  build: {
    outDir: process.env.DATABUILD_DASHBOARD_OUT ?? DASHBOARD_OUT_DIR,
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  worker: { format: "es" },
});
