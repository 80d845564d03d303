/**
 * How SLURM's view maps onto the job.exec diagram, for what a single-node
 * test cluster cannot be made to do on demand (a node failure, a time limit
 * from SLURM, a job it forgot, a queue that never moves): the SLURM launcher
 * with fake SLURM commands, a real events file written as a wrapper would.
 */
import { create, toJsonString } from "@bufbuild/protobuf";
import { appendFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BuildEventSchema,
  ExitCategory,
  JobRunRequestSchema,
  type BuildEvent,
  type JobRunRequest,
} from "../../gen/databuild_pb.ts";
import { eventPayload, type EventPayload } from "../../core/build-event.ts";
import { diagramViolations } from "../../core/diagrams/diagram-paths.ts";
import { configValidateSuccess, taskLaunchSuccess } from "../../core/hot-payloads.ts";
import type { JobOutcome } from "../../core/job-runner.ts";
import { newEvent } from "../../core/new-event.ts";
import { tempDir } from "../../testing/run-cli.ts";
import type { SlurmCommands, SlurmJobState } from "./slurm-commands.ts";
import { SlurmJobRunner } from "./slurm-job-runner.ts";

class FakeSlurm implements SlurmCommands {
  readonly known = new Map<string, SlurmJobState>();
  readonly submitted: { script: string; options: readonly string[] }[] = [];
  readonly cancels: [string, string][] = [];
  refuse?: string;

  async submit(script: string, options: readonly string[]): Promise<string> {
    if (this.refuse) throw new Error(this.refuse);
    this.submitted.push({ script, options });
    const id = String(100 + this.submitted.length);
    this.known.set(id, { state: "PENDING", reason: "Priority" });
    return id;
  }
  async states(ids: readonly string[]): Promise<Map<string, SlurmJobState>> {
    return new Map(ids.flatMap((id) => (this.known.has(id) ? [[id, this.known.get(id)!] as const] : [])));
  }
  async details() {
    return { exitCode: "0:9", nodes: "node7" };
  }
  async cancel(jobId: string, how: "batch" | "all"): Promise<void> {
    this.cancels.push([jobId, how]);
  }
  set(id: string, state: string, reason = "None"): void {
    this.known.set(id, { state, reason });
  }
  forget(id: string): void {
    this.known.delete(id);
  }
}

function setUp(options: { onWaiting?: (m: string) => void } = {}) {
  const slurm = new FakeSlurm();
  const dir = tempDir("databuild-slurm-fake-");
  const runner = new SlurmJobRunner({
    dir,
    wrapper: ["/opt/databuild-wrapper"],
    slurm,
    pollIntervalMs: 10,
    statePollMs: 10,
    timings: { endGraceMs: 50, holdMaxMs: 2000, waitingAfterMs: 0, waitingRepeatMs: 60_000, fullCancelAfterMs: 100 },
    onWaiting: options.onWaiting,
  });
  const request: JobRunRequest = create(JobRunRequestSchema, {
    task: { job: { label: "train" }, config: { outputs: [{ str: "model/1" }] } },
    command: ["python3", "train.py"],
    buildRequestId: "build-1",
    jobRunId: "run-1",
    killGraceMs: 1000,
  });
  const emitted: BuildEvent[] = [];
  const run = runner.start(request, (event) => emitted.push(event));
  const events = `${dir}/run-1/events.jsonl`;
  const write = (payload: EventPayload) =>
    appendFileSync(
      events,
      toJsonString(BuildEventSchema, newEvent({ buildRequestId: "build-1", jobRunId: "run-1" }, payload)) + "\n",
    );
  const submitted = async () => {
    while (slurm.submitted.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    return "101";
  };
  return { slurm, runner, run, emitted, write, submitted, request, events };
}

function kinds(events: readonly BuildEvent[]): string[] {
  return events.map((e) => e.event.case ?? "");
}

/** The run's events as a build records them: valid on the job.exec diagram. */
function expectValidPath(events: readonly BuildEvent[]): void {
  const wrapped = [
    newEvent({ buildRequestId: "build-1" }, eventPayload("buildRequestReceived", {})),
    newEvent({ buildRequestId: "build-1" }, eventPayload("jobGraph", {})),
    ...events,
    newEvent({ buildRequestId: "build-1" }, eventPayload("graphBuildFail", {})),
    newEvent({ buildRequestId: "build-1" }, eventPayload("buildRequestStatusChanged", { status: 6 })),
  ];
  expect(diagramViolations(wrapped).filter((p) => p.includes("job run"))).toEqual([]);
}

function failure(outcome: JobOutcome): [string, string] {
  expect(outcome.kind).toBe("failure");
  return outcome.kind === "failure" ? [ExitCategory[outcome.category]!, outcome.message] : ["", ""];
}

describe("SLURM job states on the job.exec diagram", () => {
  it("submits the job's resources and time limit as sbatch options, the batch script running the wrapper", async () => {
    const { slurm, submitted, runner } = setUp();
    await submitted();
    const { options, script } = slurm.submitted[0]!;
    expect(options).toContain("--no-requeue");
    expect(options).toContain("--job-name=databuild:train");
    expect(script).toMatch(/run-1\/job\.sh$/);
    await runner.close();
    expect(slurm.cancels).toEqual([["101", "all"]]);
  });

  it("declares a run whose node failed lost, after what its wrapper wrote", async () => {
    const { slurm, run, emitted, write, submitted } = setUp();
    const id = await submitted();
    slurm.set(id, "RUNNING");
    write(configValidateSuccess(undefined));
    write(taskLaunchSuccess(undefined, 4242, "node7"));
    slurm.set(id, "NODE_FAIL");
    const [category, message] = failure(await run.done);
    expect(category).toBe("EXIT_LOST");
    expect(message).toBe(
      'SLURM job 101 on node7 lost its node (NODE_FAIL) (NODE_FAIL, exit code 0:9) before the wrapper of job "train" reported how it ended: it is lost',
    );
    expect(kinds(emitted)).toEqual(["configValidateSuccess", "taskLaunchSuccess", "taskFailed", "jobExecFail"]);
    expectValidPath(emitted);
  });

  it("says a job SLURM stopped at its time limit timed out, though its wrapper saw only a signal", async () => {
    const { slurm, run, emitted, write, submitted } = setUp();
    const id = await submitted();
    write(configValidateSuccess(undefined));
    write(taskLaunchSuccess(undefined, 4242, "node7"));
    const signalled =
      'job "train" (command "python3 train.py") was killed by signal SIGTERM, which databuild did not send';
    write(eventPayload("taskFailed", { category: ExitCategory.EXIT_SIGNAL, signal: "SIGTERM", message: signalled }));
    write(eventPayload("jobExecFail", { category: ExitCategory.EXIT_SIGNAL, message: signalled }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Held until SLURM has its say.
    expect(kinds(emitted)).toEqual(["configValidateSuccess", "taskLaunchSuccess"]);
    slurm.set(id, "TIMEOUT");
    const [category, message] = failure(await run.done);
    expect(category).toBe("EXIT_TIMEOUT");
    expect(message).toBe(`SLURM job 101 passed its SLURM time limit; the wrapper reported: ${signalled}`);
    expect(kinds(emitted)).toEqual(["configValidateSuccess", "taskLaunchSuccess", "taskFailed", "jobExecFail"]);
    const failed = emitted[2]!.event;
    expect(failed.case === "taskFailed" && ExitCategory[failed.value.category]).toBe("EXIT_TIMEOUT");
  });

  it("declares a run lost when SLURM no longer knows its job", async () => {
    const { slurm, run, emitted, write, submitted } = setUp();
    const id = await submitted();
    write(configValidateSuccess(undefined));
    await new Promise((resolve) => setTimeout(resolve, 50));
    slurm.forget(id);
    const [category, message] = failure(await run.done);
    expect(category).toBe("EXIT_LOST");
    expect(message).toMatch(/^SLURM job 101 is no longer known to SLURM \(VANISHED\) before .*: it is lost$/);
    expect(kinds(emitted)).toEqual(["configValidateSuccess", "taskLaunchFail", "jobExecFail"]);
    expectValidPath(emitted);
  });

  it("calls a job that failed before its wrapper wrote anything a launch failure", async () => {
    const { slurm, run, emitted, submitted } = setUp();
    slurm.set(await submitted(), "FAILED", "NonZeroExitCode");
    const [category, message] = failure(await run.done);
    expect(category).toBe("EXIT_LAUNCH_FAILURE");
    expect(message).toMatch(
      /^the wrapper of job "train" did not start in SLURM job 101 on node7 \(FAILED, exit code 0:9\); see .*slurm\.out$/,
    );
    expect(kinds(emitted)).toEqual(["configValidateSuccess", "taskLaunchFail", "jobExecFail"]);
  });

  it("reports what sbatch said when it refuses the job", async () => {
    const slurm = new FakeSlurm();
    slurm.refuse = "sbatch exited with code 1: sbatch: error: invalid partition specified: gpu";
    const runner = new SlurmJobRunner({ dir: tempDir(), wrapper: ["w"], slurm });
    const emitted: BuildEvent[] = [];
    const run = runner.start(
      create(JobRunRequestSchema, { jobRunId: "r", buildRequestId: "b", task: { job: { label: "j" } } }),
      (e) => emitted.push(e),
    );
    const [category, message] = failure(await run.done);
    expect(category).toBe("EXIT_LAUNCH_FAILURE");
    expect(message).toBe(`job "j" could not be submitted to SLURM: ${slurm.refuse}`);
    expect(kinds(emitted)).toEqual(["configValidateSuccess", "taskLaunchFail", "jobExecFail"]);
    await runner.close();
  });

  it("tells about a job that waits in the queue, again at once when the reason changes, and cancels a pending one outright", async () => {
    const waiting: string[] = [];
    const { slurm, run, emitted, submitted } = setUp({ onWaiting: (m) => waiting.push(m) });
    const id = await submitted();
    const told = async (reason: string) => {
      while (!waiting.some((m) => m.includes(`(${reason})`))) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await told("Priority");
    // Well within the minute before a note repeats (waitingRepeatMs): a new reason is told at once.
    slurm.set(id, "PENDING", "PartitionConfig");
    await told("PartitionConfig");
    expect(waiting.find((m) => m.includes("PartitionConfig"))).toMatch(
      /^job "train" \(job run run-1\) waits in SLURM's queue as job 101: pending for \d+ s \(PartitionConfig\); as submitted it may never start/,
    );
    run.cancel("the build was cancelled (SIGINT)");
    expect(slurm.cancels).toEqual([[id, "all"]]);
    slurm.set(id, "CANCELLED");
    const [category, message] = failure(await run.done);
    expect(category).toBe("EXIT_CANCELLED");
    expect(message).toBe('job "train" was cancelled: the build was cancelled (SIGINT) (SLURM job 101, CANCELLED)');
    expectValidPath(emitted);
  });

  it("ignores lines that are not this run's job.exec events", async () => {
    const { slurm, run, emitted, write, submitted, events } = setUp();
    await submitted();
    write(configValidateSuccess(undefined));
    appendFileSync(events, "not json\n");
    write(eventPayload("buildHeartbeat", {}));
    write(taskLaunchSuccess(undefined, 1, "node7"));
    write(eventPayload("taskSuccess", {}));
    write(eventPayload("partitionManifest", {}));
    expect((await run.done).kind).toBe("success");
    expect(kinds(emitted)).toEqual(["configValidateSuccess", "taskLaunchSuccess", "taskSuccess", "partitionManifest"]);
    expect(slurm.cancels).toEqual([]);
  });
});
