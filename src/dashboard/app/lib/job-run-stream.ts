/**
 * @module A job run's log lines and events as they arrive: GetJobRunLogs
 * with follow (ends when the run does) and WatchEvents with its id, each
 * resumed after a dropped connection from where it got to.
 */
import { useEffect, useState } from "react";
import { LogStream, type BuildEvent, type JobRunView } from "../../../gen/databuild_pb.ts";
import { breathe, client } from "./api.ts";

export interface LogLine {
  readonly sequence: number;
  readonly stderr: boolean;
  readonly text: string;
  /** The line goes on in the next one (it was longer than the wrapper's limit). */
  readonly continued: boolean;
}

const FLUSH_MS = 100;
const RETRY_MS = 1_000;

async function resumable(signal: AbortSignal, run: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    try {
      await run();
      return;
    } catch {
      if (signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

export function useJobRunLogs(jobRunId: string): {
  lines: readonly LogLine[];
  run: JobRunView | undefined;
  ended: boolean;
  truncated: boolean;
} {
  const [state, setState] = useState({
    lines: [] as LogLine[],
    run: undefined as JobRunView | undefined,
    ended: false,
    truncated: false,
  });
  useEffect(() => {
    const abort = new AbortController();
    const lines: LogLine[] = [];
    let run: JobRunView | undefined;
    let truncated = false;
    let after = 0n;
    let responses = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = (ended = false) => {
      timer = undefined;
      setState({ lines: [...lines], run, ended, truncated });
    };
    void resumable(abort.signal, async () => {
      for await (const response of client.getJobRunLogs(
        { jobRunId, follow: true, afterSequence: after },
        { signal: abort.signal },
      )) {
        if (response.jobRun) run = response.jobRun;
        await breathe(++responses, 50);
        for (const entry of response.entries) {
          if (entry.truncated) truncated = true;
          const pieces = entry.line === "" && entry.truncated ? [] : entry.line.split("\n");
          pieces.forEach((text, i) =>
            lines.push({
              sequence: Number(entry.sequence) + i,
              stderr: entry.stream === LogStream.STDERR,
              text,
              continued: entry.continued && i === pieces.length - 1,
            }),
          );
          const last = entry.sequence + BigInt(Math.max(0, pieces.length - 1));
          if (last > after) after = last;
        }
        timer ??= setTimeout(flush, FLUSH_MS);
      }
      if (timer) clearTimeout(timer);
      flush(true);
    });
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [jobRunId]);
  return state;
}

export interface JobRunEvent {
  readonly offset: bigint;
  readonly event: BuildEvent;
}

/** The run's events other than its log lines (those are shown as lines). */
export function useJobRunEvents(jobRunId: string, follow: boolean): readonly JobRunEvent[] {
  const [events, setEvents] = useState<JobRunEvent[]>([]);
  useEffect(() => {
    const abort = new AbortController();
    const seen: JobRunEvent[] = [];
    let after = 0n;
    let read = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      setEvents([...seen]);
    };
    void resumable(abort.signal, async () => {
      for await (const logged of client.watchEvents(
        { afterOffset: after, jobRunId, stopAtEnd: !follow },
        { signal: abort.signal },
      )) {
        after = logged.offset;
        await breathe(++read);
        if (!logged.event || logged.event.event.case === "logEntry") continue;
        seen.push({ offset: logged.offset, event: logged.event });
        timer ??= setTimeout(flush, FLUSH_MS);
      }
      if (timer) clearTimeout(timer);
      flush();
    });
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [jobRunId, follow]);
  return events;
}
