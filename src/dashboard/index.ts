/**
 * @module The dashboard (SPEC 3.10): a browser app that reads only the
 * service API. The service mounts `serveDashboard` at `/` (it answers the
 * app's URLs and its assets, and declines the rest) and spreads
 * `dashboardRpcs({ live })` into its DatabuildService (GetPartitionGrid).
 */
export { dashboardHandler, DEFAULT_DASHBOARD_DIR, serveDashboard, type DashboardOptions } from "./serve-dashboard.ts";
export { dashboardRpcs, partitionGrid, type DashboardRpcDeps } from "./rpc/index.ts";
