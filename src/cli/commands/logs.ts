/**
 * @module `databuild logs JOB_RUN_ID`: what a job run printed, in order. The
 * short id other commands print (the id's random tail), or any unique prefix
 * or suffix of the id, is enough. Reads both forms of LogEntry: one line per
 * entry (older logs) and batches of lines (`src/core/log-entries.ts`), and
 * prints the same text for both. Output the run printed past its log limit
 * was not recorded: a note on stderr says how much.
 */
import { toJsonString } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { BuildEventSchema, LogStream } from "../../gen/databuild_pb.ts";
import { UsageError } from "../../core/errors.ts";
import { describeTruncation, entryText } from "../../core/log-entries.ts";
import { JobRuns } from "../../core/projections/job-runs.ts";
import { loadReadModel } from "../../coordination/index.ts";
import type { CommandContext } from "../context.ts";
import { jobRunHeader } from "../format/job-run-header.ts";

/**
 * Entries read at once: a page of batched entries (at most 64 KiB of lines
 * each) stays within tens of megabytes, and a page of one-line entries
 * (older logs) is still cheap to fetch.
 */
const PAGE = 512;

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
      if (ctx.server()) return (await import("../remote/reads.ts")).remoteLogs(ctx, id, wanted, options.json ?? false);
      const log = await ctx.openEventLog({ mustExist: true, readOnly: true });
      try {
        const { model: runs } = await loadReadModel(log, () => new JobRuns(), { note: ctx.note });
        const matches = runs.matching(id);
        if (matches.length === 0)
          throw new UsageError(`no job run with id ${JSON.stringify(id)} in ${ctx.shownEventLogLocation()}`);
        if (matches.length > 1) {
          throw new UsageError(
            `job run id ${JSON.stringify(id)} is ambiguous: ${matches
              .slice(0, 5)
              .map((r) => r.jobRunId)
              .join(", ")}`,
          );
        }
        const run = matches[0]!;
        ctx.io.stderr.write(jobRunHeader(run));
        let cursor = 0;
        let limitReached = false;
        for (;;) {
          const page = await log.read(cursor, { jobRunId: run.jobRunId, kinds: ["logEntry"] }, PAGE);
          // One write per page, not per line.
          const text: string[] = [];
          for (const { event } of page) {
            if (event.event.case !== "logEntry") continue;
            const entry = event.event.value;
            limitReached ||= entry.truncated === true;
            if (wanted !== undefined && entry.stream !== wanted) continue;
            text.push(options.json ? toJsonString(BuildEventSchema, event) + "\n" : entryText(entry));
          }
          if (text.length > 0) ctx.out(text.join(""));
          if (page.length < PAGE) break;
          cursor = page[page.length - 1]!.offset;
        }
        if (run.logTruncation) {
          ctx.io.stderr.write(`job run ${run.jobRunId}: output truncated: ${describeTruncation(run.logTruncation)}\n`);
        } else if (limitReached) {
          ctx.io.stderr.write(
            `job run ${run.jobRunId}: output truncated: it reached the log limit; what it prints from there is not recorded\n`,
          );
        }
      } finally {
        await log.close();
      }
    });
}
