/**
 * @module databuild's public API for graph authors: define jobs and graphs in
 * TypeScript. Everything not exported here is internal and may change.
 */
export { defineJob, materialize, query } from "./gsl/define-job.ts";
export type {
  BatchConfigInit,
  ConfigContext,
  ExecFunction,
  InputSpec,
  JobSpec,
  TaskConfigInit,
  WantedRef,
} from "./gsl/define-job.ts";
export { defineGraph } from "./gsl/define-graph.ts";
export type { DefinedGraph } from "./gsl/define-graph.ts";
export { defineSchedule, defineSensor } from "./gsl/define-trigger.ts";
export type {
  DefinedTrigger,
  EagerSensorSpec,
  FunctionSensorSpec,
  ScheduleSpec,
  SensorSpec,
} from "./gsl/define-trigger.ts";
export type { SensorContext, SensorFiring, SensorPartitionInfo, TickDates } from "./core/triggers.ts";
export type { ExecContext } from "./core/job.ts";
export type { JobConfig, PartitionRef, DataDep } from "./gen/databuild_pb.ts";
export { DepType } from "./gen/databuild_pb.ts";
