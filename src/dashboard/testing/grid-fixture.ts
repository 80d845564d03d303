/**
 * @module For the grid's tests: a dataset of many partitions written
 * straight into a log (manifests, and some failures and invalidations),
 * as many builds would have left it, in a few seconds.
 */
import { eventPayload } from "../../core/build-event.ts";
import type { EventLog } from "../../core/event-log.ts";
import { newEvent } from "../../core/new-event.ts";
import { PartitionStatus, type BuildEvent } from "../../gen/databuild_pb.ts";
import { timestampAtMs } from "../../core/timestamp.ts";

export const GRID_PATTERN = "grid/region={region}/date={date}";
const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2000, 0, 1);

export function gridRef(region: number, day: number): string {
  return `grid/region=r${region}/date=${new Date(FIRST_DAY + day * DAY_MS).toISOString().slice(0, 10)}`;
}

/**
 * Writes `regions` × `days` partitions, one job run per day building every
 * region's partition of it: available, but every 97th partition (in a
 * diagonal) failed, and a run of days in region 0 invalidated. Returns the
 * counts by status.
 */
export async function writeGrid(log: EventLog, regions: number, days: number): Promise<Map<PartitionStatus, number>> {
  const counts = new Map<PartitionStatus, number>();
  const buildRequestId = "0190f1e0-0000-7000-8000-00000000grid";
  const invalidation = { buildRequestId: "0190f1e0-0000-7000-8000-000000000inv" };
  const now = Date.now();
  const count = (status: PartitionStatus) => counts.set(status, (counts.get(status) ?? 0) + 1);
  let batch: BuildEvent[] = [];
  for (let day = 0; day < days; day++) {
    const scope = { buildRequestId, jobRunId: `grid-run-${day}` };
    const built: string[] = [];
    const later: BuildEvent[] = [];
    for (let region = 0; region < regions; region++) {
      const ref = gridRef(region, day);
      if ((day + region * 7) % 97 === 0) {
        later.push(
          newEvent(
            scope,
            eventPayload("partitionStatusChanged", {
              partitionRef: { str: ref },
              status: PartitionStatus.PARTITION_FAILED,
              message: "job failed",
            }),
            now,
          ),
        );
        count(PartitionStatus.PARTITION_FAILED);
        continue;
      }
      built.push(ref);
      if (region === 0 && day >= 5_000 && day < 5_300) {
        later.push(
          newEvent(
            invalidation,
            eventPayload("partitionStatusChanged", {
              partitionRef: { str: ref },
              status: PartitionStatus.PARTITION_INVALIDATED,
              message: "invalidated",
            }),
            now,
          ),
        );
        count(PartitionStatus.PARTITION_INVALIDATED);
      } else count(PartitionStatus.PARTITION_AVAILABLE);
    }
    batch.push(
      newEvent(
        scope,
        eventPayload("partitionManifest", {
          outputs: built.map((str) => ({ str })),
          task: { job: { label: "grid" } },
          buildRequestId,
          jobRunId: scope.jobRunId,
          jobVersion: "1.0.0",
          graphLabel: "dashboard_test",
          startTime: timestampAtMs(now - 1000),
          endTime: timestampAtMs(now),
        }),
        now,
      ),
      ...later,
    );
    if (batch.length >= 5_000) {
      await log.append(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await log.append(batch);
  return counts;
}
