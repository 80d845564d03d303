/**
 * @module The service (SPEC 3.7): `databuild serve`'s replica, serving
 * DatabuildService over Connect, gRPC and gRPC-Web on one port. The one
 * entry of src/service/.
 */
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_SHUTDOWN_GRACE_MS,
  isLoopback,
  serveProblem,
  startService,
  type Service,
  type ServiceOptions,
} from "./start-service.ts";
export { METHOD_SCOPES, scopeNeeded } from "./auth.ts";
export { serviceLogger, type ServiceLogger } from "./service-logger.ts";
