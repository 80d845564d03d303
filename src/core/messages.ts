/**
 * @module Fast constructors for the proto messages the planner creates in
 * bulk. protobuf-es messages are plain objects tagged with `$typeName`;
 * building the literals directly avoids reflection per object, which matters
 * when an analysis creates millions of refs.
 */
import {
  DepType,
  type DataDep,
  type JobConfig,
  type JobGraph,
  type JobLabel,
  type PartitionRef,
  type Task,
} from "../gen/databuild_pb.ts";

export function partitionRef(str: string): PartitionRef {
  return { $typeName: "databuild.v1.PartitionRef", str };
}

export function jobLabel(label: string): JobLabel {
  return { $typeName: "databuild.v1.JobLabel", label };
}

export function dataDep(ref: string, depType: DepType = DepType.MATERIALIZE): DataDep {
  return { $typeName: "databuild.v1.DataDep", depType, partitionRef: partitionRef(ref) };
}

export function jobConfig(init: {
  outputs: readonly string[];
  inputs?: readonly DataDep[];
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
}): JobConfig {
  return {
    $typeName: "databuild.v1.JobConfig",
    outputs: init.outputs.map(partitionRef),
    inputs: init.inputs ? [...init.inputs] : [],
    args: init.args ? [...init.args] : [],
    env: init.env ? { ...init.env } : {},
  };
}

export function task(job: string, config: JobConfig): Task {
  return { $typeName: "databuild.v1.Task", job: jobLabel(job), config };
}

export function jobGraph(label: string, outputs: readonly string[], nodes: Task[]): JobGraph {
  return { $typeName: "databuild.v1.JobGraph", label, outputs: outputs.map(partitionRef), nodes };
}
