/**
 * @module The RPCs the dashboard adds to the service (SPEC 3.10): today
 * GetPartitionGrid, the status grid of one output pattern. The host spreads
 * `dashboardRpcs({ live })` into its DatabuildService implementation; its
 * auth interceptor applies to them like to every read.
 */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { DatabuildService } from "../../gen/databuild_pb.ts";
import { GridRequestError, partitionGrid, type CatalogItem } from "./partition-grid.ts";

/** What the grid reads: the live partition catalog (the service's LiveLog has it). */
export interface DashboardRpcDeps {
  readonly live: { readonly view: { readonly catalog: { entries(): Iterable<CatalogItem> } } };
}

export function dashboardRpcs(deps: DashboardRpcDeps): Partial<ServiceImpl<typeof DatabuildService>> {
  return {
    getPartitionGrid(request) {
      try {
        return partitionGrid(deps.live.view.catalog.entries(), request.pattern, request.columnParam);
      } catch (error) {
        if (error instanceof GridRequestError) throw new ConnectError(error.message, Code.InvalidArgument);
        throw error;
      }
    },
  };
}

export { partitionGrid } from "./partition-grid.ts";
