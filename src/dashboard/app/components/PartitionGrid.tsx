/**
 * The status grid of one output pattern: a canvas, one row per combination
 * of the other parameters, one column per value of the ordered one, drawn
 * from run-length-encoded statuses (GetPartitionGrid): the cost follows the
 * runs, not the partitions. +/- (or Ctrl+wheel) zoom, drag or arrows pan and move,
 * Enter or a click opens the partition. A status filter dims the others.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from "react";
import { useNavigate } from "react-router";
import { PartitionStatus } from "../../../gen/databuild_pb.ts";
import { client } from "../lib/api.ts";
import { plural } from "../lib/format.ts";
import { cellRef, cellStatus, gridModel, rowPixels, type GridModel } from "../lib/grid-model.ts";
import { PARTITION_STATUSES, partitionStatusTone, partitionStatusWord } from "../lib/status.ts";
import { ErrorBox, Loading, partitionPath } from "./common.tsx";

const MAX_ROW_HEIGHT = 22;
const MAX_CANVAS_HEIGHT = 480;
const LABEL_WIDTH = 220;

interface View {
  from: number;
  to: number;
}

interface Cursor {
  row: number;
  column: number;
}

/** The grid's colors, from the theme's CSS variables (light or dark). */
function palette(element: Element): {
  cell: (status: PartitionStatus) => string;
  dim: string;
  empty: string;
  cursor: string;
} {
  const style = getComputedStyle(element);
  const cache = new Map<string, string>();
  const color = (name: string) => {
    if (!cache.has(name)) cache.set(name, style.getPropertyValue(name).trim() || "#888");
    return cache.get(name)!;
  };
  return {
    cell: (status) => color(`--cell-${partitionStatusTone(status)}`),
    dim: color("--cell-dim"),
    empty: color("--cell-empty"),
    cursor: color("--fg"),
  };
}

function draw(
  canvas: HTMLCanvasElement,
  model: GridModel,
  view: View,
  filter: ReadonlySet<PartitionStatus>,
  rowHeight: number,
  cursor: Cursor | undefined,
): void {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = model.rows.length * rowHeight;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  const colors = palette(canvas);
  ctx.fillStyle = colors.empty;
  ctx.fillRect(0, 0, width, height);
  const span = view.to - view.from;
  const scale = width / span;
  const gap = rowHeight >= 8 ? 1 : 0;
  const colorOf = (status: PartitionStatus) =>
    filter.size === 0 || filter.has(status) ? colors.cell(status) : colors.dim;
  if (scale >= 6) {
    // Cells wide enough to tell apart are drawn one by one, with a gap.
    model.rows.forEach((row, r) => {
      for (let i = 0; i < row.statuses.length; i++) {
        const status = row.statuses[i]! as PartitionStatus;
        if (status === PartitionStatus.PARTITION_STATUS_UNSPECIFIED) continue;
        const start = Math.max(row.starts[i]!, view.from);
        const end = Math.min(row.starts[i + 1]!, view.to);
        ctx.fillStyle = colorOf(status);
        for (let c = start; c < end; c++)
          ctx.fillRect((c - view.from) * scale, r * rowHeight, scale - 1, rowHeight - gap);
      }
    });
  } else {
    // Many cells to a pixel: each device pixel shows the worst status among its cells (rowPixels).
    const pixels = canvas.width;
    model.rows.forEach((row, r) => {
      const shown = rowPixels(row, view.from, view.to, pixels, filter);
      for (let p = 0; p < pixels;) {
        const status = shown[p]! as PartitionStatus;
        let q = p + 1;
        while (q < pixels && shown[q] === status) q++;
        if (status !== PartitionStatus.PARTITION_STATUS_UNSPECIFIED) {
          ctx.fillStyle = colorOf(status);
          ctx.fillRect(p / ratio, r * rowHeight, (q - p) / ratio, rowHeight - gap);
        }
        p = q;
      }
    });
  }
  if (cursor && cursor.column >= view.from && cursor.column < view.to) {
    ctx.strokeStyle = colors.cursor;
    ctx.lineWidth = 2;
    const x = (cursor.column - view.from) * scale;
    ctx.strokeRect(x - 1, cursor.row * rowHeight, Math.max(scale, 2) + 2, rowHeight);
  }
}

export function PartitionGrid({ pattern, statuses }: { pattern: string; statuses: readonly PartitionStatus[] }) {
  const grid = useQuery({
    queryKey: ["grid", pattern],
    queryFn: ({ signal }) => client.getPartitionGrid({ pattern }, { signal }),
    refetchInterval: 10_000,
  });
  const model = useMemo(() => (grid.data ? gridModel(pattern, grid.data) : undefined), [grid.data, pattern]);
  if (grid.error) return <ErrorBox error={grid.error} />;
  if (!model) return <Loading what="the status grid" />;
  if (model.total === 0) return null;
  return <GridCanvas model={model} statuses={statuses} />;
}

function GridCanvas({ model, statuses }: { model: GridModel; statuses: readonly PartitionStatus[] }) {
  const navigate = useNavigate();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const columns = model.columns.length;
  const [view, setView] = useState<View>({ from: 0, to: columns });
  const [cursor, setCursor] = useState<Cursor | undefined>();
  const [hover, setHover] = useState<{ ref: string; status: PartitionStatus; x: number; y: number } | undefined>();
  const drag = useRef<{ x: number; view: View } | undefined>(undefined);
  const filter = useMemo(() => new Set(statuses), [statuses]);
  const filterKey = [...filter].sort().join(",");
  const rowHeight = Math.max(
    3,
    Math.min(MAX_ROW_HEIGHT, Math.floor(MAX_CANVAS_HEIGHT / Math.max(1, model.rows.length))),
  );
  useEffect(() => setView((v) => (v.to > columns ? { from: 0, to: columns } : v)), [columns]);

  useLayoutEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const started = performance.now();
    draw(canvas, model, view, filter, rowHeight, cursor);
    const drawMs = performance.now() - started;
    canvas.dataset.filter = filterKey;
    canvas.dataset.drawMs = drawMs.toFixed(2);
    // For the end-to-end test's timing, and anyone curious: a drawn frame.
    window.dispatchEvent(
      new CustomEvent("databuild:grid-drawn", { detail: { filter: filterKey, drawMs, partitions: model.total } }),
    );
  }, [model, view, filter, filterKey, rowHeight, cursor]);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const observer = new ResizeObserver(() => draw(canvas, model, view, filter, rowHeight, cursor));
    observer.observe(canvas);
    return () => observer.disconnect();
  }, [model, view, filter, rowHeight, cursor]);

  const cellAt = (event: MouseEvent<HTMLCanvasElement>): Cursor | undefined => {
    const rect = event.currentTarget.getBoundingClientRect();
    const row = Math.floor((event.clientY - rect.top) / rowHeight);
    const column = view.from + Math.floor(((event.clientX - rect.left) / rect.width) * (view.to - view.from));
    if (row < 0 || row >= model.rows.length || column < 0 || column >= columns) return undefined;
    return { row, column };
  };
  const zoom = (factor: number, around: number) => {
    setView((v) => {
      const span = Math.min(columns, Math.max(10, Math.round((v.to - v.from) * factor)));
      const from = Math.max(
        0,
        Math.min(columns - span, Math.round(around - ((around - v.from) / (v.to - v.from)) * span)),
      );
      return { from, to: from + span };
    });
  };
  const pan = (by: number) =>
    setView((v) => {
      const from = Math.max(0, Math.min(columns - (v.to - v.from), v.from + by));
      return { from, to: from + (v.to - v.from) };
    });
  const moveCursor = (row: number, column: number) => {
    const next = {
      row: Math.max(0, Math.min(model.rows.length - 1, row)),
      column: Math.max(0, Math.min(columns - 1, column)),
    };
    setCursor(next);
    setView((v) => {
      const span = v.to - v.from;
      if (next.column < v.from) return { from: next.column, to: next.column + span };
      if (next.column >= v.to) return { from: next.column - span + 1, to: next.column + 1 };
      return v;
    });
  };
  const onKey = (event: KeyboardEvent<HTMLCanvasElement>) => {
    const c = cursor ?? { row: 0, column: view.from };
    const step = event.shiftKey ? Math.max(1, Math.round((view.to - view.from) / 10)) : 1;
    const keys: Record<string, () => void> = {
      ArrowRight: () => moveCursor(c.row, c.column + step),
      ArrowLeft: () => moveCursor(c.row, c.column - step),
      ArrowDown: () => moveCursor(c.row + 1, c.column),
      ArrowUp: () => moveCursor(c.row - 1, c.column),
      Home: () => moveCursor(c.row, 0),
      End: () => moveCursor(c.row, columns - 1),
      "+": () => zoom(0.5, c.column),
      "=": () => zoom(0.5, c.column),
      "-": () => zoom(2, c.column),
      "0": () => setView({ from: 0, to: columns }),
      Enter: () => cursor && navigate(partitionPath(cellRef(model, model.rows[cursor.row]!, cursor.column))),
    };
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  };
  const focused = cursor && model.rows[cursor.row];
  const counts = PARTITION_STATUSES.filter((s) => model.counts.get(s));
  return (
    <figure className="grid">
      <figcaption>
        <strong>{plural(model.total, "partition")}</strong> of {model.pattern}: {plural(model.rows.length, "row")} ×{" "}
        {plural(columns, model.columnParam + " value")}, showing {model.columns[view.from]} to{" "}
        {model.columns[view.to - 1]}
        <span className="grid-zoom">
          <button type="button" onClick={() => zoom(0.5, cursor?.column ?? (view.from + view.to) / 2)}>
            Zoom in
          </button>
          <button type="button" onClick={() => zoom(2, cursor?.column ?? (view.from + view.to) / 2)}>
            Zoom out
          </button>
          {view.to - view.from < columns && (
            <button type="button" onClick={() => setView({ from: 0, to: columns })}>
              Show all
            </button>
          )}
        </span>
      </figcaption>
      <ul className="legend" aria-label="Partitions by status">
        {counts.map((status) => (
          <li key={status} className={filter.size > 0 && !filter.has(status) ? "dimmed" : ""}>
            <span className={`swatch cell-${partitionStatusTone(status)}`} aria-hidden="true" />
            {partitionStatusWord(status)} {model.counts.get(status)!.toLocaleString("en")}
          </li>
        ))}
      </ul>
      <div className="grid-body">
        <ul className="grid-labels" style={{ width: LABEL_WIDTH }} aria-hidden="true">
          {rowHeight >= 12 &&
            model.rows.map((row) => (
              <li key={row.key} style={{ height: rowHeight }} title={row.key}>
                {row.key || model.pattern}
              </li>
            ))}
        </ul>
        <canvas
          ref={canvasRef}
          className="grid-canvas"
          style={{ height: model.rows.length * rowHeight }}
          tabIndex={0}
          role="img"
          aria-label={`Status grid of ${model.total} partitions of ${model.pattern}; arrow keys move, Enter opens, + and - zoom`}
          onKeyDown={onKey}
          onWheel={(event) => {
            // A plain wheel scrolls the page; with Ctrl or Alt it zooms, with Shift it pans.
            const cell = cellAt(event);
            if (event.shiftKey) pan(Math.round(((view.to - view.from) * (event.deltaY || event.deltaX)) / 1000));
            else if (event.ctrlKey || event.altKey)
              zoom(event.deltaY > 0 ? 1.25 : 0.8, cell?.column ?? (view.from + view.to) / 2);
          }}
          onMouseDown={(event) => (drag.current = { x: event.clientX, view })}
          onMouseUp={(event) => {
            const moved = drag.current && Math.abs(event.clientX - drag.current.x) > 3;
            drag.current = undefined;
            const cell = cellAt(event);
            if (!moved && cell) navigate(partitionPath(cellRef(model, model.rows[cell.row]!, cell.column)));
          }}
          onMouseLeave={() => {
            drag.current = undefined;
            setHover(undefined);
          }}
          onMouseMove={(event) => {
            if (drag.current) {
              const span = drag.current.view.to - drag.current.view.from;
              const by = Math.round(((drag.current.x - event.clientX) / event.currentTarget.clientWidth) * span);
              const from = Math.max(0, Math.min(columns - span, drag.current.view.from + by));
              setView({ from, to: from + span });
              return;
            }
            const cell = cellAt(event);
            if (!cell) return setHover(undefined);
            const row = model.rows[cell.row]!;
            setHover({
              ref: cellRef(model, row, cell.column),
              status: cellStatus(row, cell.column),
              x: event.nativeEvent.offsetX,
              y: event.nativeEvent.offsetY,
            });
          }}
        />
        {hover && (
          <div className="grid-tip" style={{ left: LABEL_WIDTH + hover.x + 12, top: hover.y + 12 }} role="tooltip">
            {hover.ref}
            <br />
            {hover.status === PartitionStatus.PARTITION_STATUS_UNSPECIFIED
              ? "not in the log"
              : partitionStatusWord(hover.status)}
          </div>
        )}
      </div>
      <p className="grid-focus" aria-live="polite">
        {focused && cursor ? (
          <>
            Selected: {cellRef(model, focused, cursor.column)} —{" "}
            {partitionStatusWord(cellStatus(focused, cursor.column))} (Enter opens it)
          </>
        ) : (
          <span className="muted">Click a cell to open its partition, or focus the grid and use the arrow keys.</span>
        )}
      </p>
    </figure>
  );
}
