/**
 * @module `databuild logs JOB_RUN_ID`: what a job run printed, in order. The
 * short id other commands print (the id's random tail), or any unique prefix
 * or suffix of the id, is enough.
 */
import { toJsonString } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { BuildEventSchema, ExitCategory, JobRunStatus, LogStream } from "../../gen/databuild_pb.ts";
import { UsageError } from "../../core/errors.ts";
import { JobRuns } from "../../core/projections/job-runs.ts";
import { loadReadModel } from "../../coordination/index.ts";
import type { CommandContext } from "../context.ts";

const PAGE = 10_000;

export function registerLogs(program: Command, context: () => CommandContext): void {
  program
    .command("logs")
    .description("print what a job run wrote to stdout and stderr")
    .argument(
      "<job-run-id>",
      "job run id: the full id, the short id other commands print, or a unique prefix or suffix",
    )
    .option("--stream <stream>", "only stdout or only stderr")
    .option("--json", "the LogEntry events as proto3 JSON lines")
    .action(async (id: string, options: { stream?: string; json?: boolean }) => {
      const ctx = context();
      const wanted =
        options.stream === undefined
          ? undefined
          : ({ stdout: LogStream.STDOUT, stderr: LogStream.STDERR } as Record<string, LogStream>)[options.stream];
      if (options.stream !== undefined && wanted === undefined)
        throw new UsageError(`--stream must be stdout or stderr, got ${JSON.stringify(options.stream)}`);
      const log = await ctx.openEventLog({ mustExist: true, readOnly: true });
      try {
        const { model: runs } = await loadReadModel(log, () => new JobRuns(), { note: ctx.note });
        const matches = runs.matching(id);
        if (matches.length === 0)
          throw new UsageError(`no job run with id ${JSON.stringify(id)} in ${ctx.eventLogLocation()}`);
        if (matches.length > 1) {
          throw new UsageError(
            `job run id ${JSON.stringify(id)} is ambiguous: ${matches
              .slice(0, 5)
              .map((r) => r.jobRunId)
              .join(", ")}`,
          );
        }
        const run = matches[0]!;
        const outcome =
          run.status === JobRunStatus.JOB_RUN_FAILED
            ? ` failed (${ExitCategory[run.exitCategory]})`
            : ` ${JobRunStatus[run.status].replace("JOB_RUN_", "").toLowerCase()}`;
        ctx.io.stderr.write(
          `job run ${run.jobRunId}: ${run.task?.job?.label} ${run.task?.config?.outputs.map((o) => o.str).join(", ")},${outcome}\n`,
        );
        let cursor = 0;
        for (;;) {
          const page = await log.read(cursor, { jobRunId: run.jobRunId, kinds: ["logEntry"] }, PAGE);
          for (const { event } of page) {
            if (event.event.case !== "logEntry") continue;
            const entry = event.event.value;
            if (wanted !== undefined && entry.stream !== wanted) continue;
            ctx.out(
              options.json ? toJsonString(BuildEventSchema, event) + "\n" : entry.line + (entry.continued ? "" : "\n"),
            );
          }
          if (page.length < PAGE) break;
          cursor = page[page.length - 1]!.offset;
        }
      } finally {
        await log.close();
      }
    });
}
