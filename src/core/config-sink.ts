/**
 * @module ConfigSink: how a job's config step hands its configs to the
 * planner as plain data, one config at a time, with no proto objects (a
 * `JobConfig` per task and a `DataDep` + `PartitionRef` per input were most
 * of the planner's cost at a million partitions). The planner interns what
 * it receives into its compact plan at once, so what a config function
 * returns dies young. `collectConfigs` turns the same calls into `JobConfig`
 * messages for callers that want them (`JobDefinition.configure`), and
 * `feedConfigs` goes the other way for a job that only has `configure`.
 */
import { DepType, type JobConfig } from "../gen/databuild_pb.ts";
import { dataDep, partitionRef } from "./messages.ts";

/**
 * Receives one config call's configs in order. For each config: `config()`,
 * then its outputs, then its inputs, args and env (in that order: outputs
 * first, so a config without outputs is known before its inputs).
 */
export interface ConfigSink {
  /** Starts the next config. */
  config(): void;
  output(ref: string): void;
  /** The output is the k-th wanted ref of the call (what a per-partition config produces): no lookup needed. */
  wantedOutput(k: number): void;
  input(ref: string, depType: DepType): void;
  arg(value: string): void;
  env(name: string, value: string): void;
}

/** Feeds `configs` (messages) to `sink`. */
export function feedConfigs(configs: readonly JobConfig[], sink: ConfigSink): void {
  for (const config of configs) {
    sink.config();
    for (const output of config.outputs) sink.output(output.str);
    for (const input of config.inputs) sink.input(input.partitionRef?.str ?? "", input.depType);
    for (const arg of config.args) sink.arg(arg);
    for (const name of Object.keys(config.env)) sink.env(name, config.env[name]!);
  }
}

/** A sink that builds the `JobConfig` messages it is fed (see `collectConfigs`). */
export class ConfigCollector implements ConfigSink {
  readonly configs: JobConfig[] = [];
  private current: JobConfig | undefined;

  constructor(private readonly wanted: readonly { readonly ref: string }[]) {}

  config(): void {
    this.current = { $typeName: "databuild.v1.JobConfig", outputs: [], inputs: [], args: [], env: {} };
    this.configs.push(this.current);
  }

  output(ref: string): void {
    this.current!.outputs.push(partitionRef(ref));
  }

  wantedOutput(k: number): void {
    this.output(this.wanted[k]!.ref);
  }

  input(ref: string, depType: DepType): void {
    this.current!.inputs.push(dataDep(ref, depType));
  }

  arg(value: string): void {
    this.current!.args.push(value);
  }

  env(name: string, value: string): void {
    // An own "__proto__" key, as JSON.parse makes one, not the object's prototype.
    if (name === "__proto__")
      Object.defineProperty(this.current!.env, name, { value, enumerable: true, writable: true });
    else this.current!.env[name] = value;
  }
}

/** The configs that `feed` hands its sink, as messages. */
export async function collectConfigs(
  wanted: readonly { readonly ref: string }[],
  feed: (sink: ConfigSink) => Promise<void> | void,
): Promise<JobConfig[]> {
  const collector = new ConfigCollector(wanted);
  await feed(collector);
  return collector.configs;
}
