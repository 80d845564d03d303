/**
 * A build's job graph: one node per task (job and outputs), an edge from
 * the producer of each input, colored by the task's job run as its events
 * arrive. Laid out by dagre in a Web Worker (layout.worker.ts).
 */
import { useEffect, useMemo, useState } from "react";
import { Link } from "react-router";
import type { Task } from "../../../gen/databuild_pb.ts";
import type { RunState } from "../lib/build-events.ts";
import type { LayoutRequest, LayoutResponse } from "../layout.worker.ts";

const NODE_WIDTH = 250;
const NODE_HEIGHT = 44;
const MAX_NODES = 1_500;

let worker: Worker | undefined;
let nextId = 1;

function layout(request: Omit<LayoutRequest, "id">): Promise<LayoutResponse> {
  worker ??= new Worker(new URL("../layout.worker.ts", import.meta.url), { type: "module" });
  const id = nextId++;
  const w = worker;
  return new Promise((resolve) => {
    const onMessage = (message: MessageEvent<LayoutResponse>) => {
      if (message.data.id !== id) return;
      w.removeEventListener("message", onMessage);
      resolve(message.data);
    };
    w.addEventListener("message", onMessage);
    w.postMessage({ id, ...request });
  });
}

function truncate(text: string, max: number): string {
  return text.length > max ? `…${text.slice(text.length - max + 1)}` : text;
}

export function JobGraphView({
  tasks,
  runByOutput,
  delegated,
}: {
  tasks: readonly Task[];
  runByOutput: ReadonlyMap<string, RunState>;
  delegated: ReadonlySet<string>;
}) {
  const shape = useMemo(() => {
    const shown = tasks.slice(0, MAX_NODES);
    const producer = new Map<string, string>();
    shown.forEach((task, i) => task.config?.outputs.forEach((o) => producer.set(o.str, String(i))));
    const edges: { from: string; to: string }[] = [];
    const seen = new Set<string>();
    shown.forEach((task, i) => {
      for (const input of task.config?.inputs ?? []) {
        const from = producer.get(input.partitionRef?.str ?? "");
        const key = `${from}>${i}`;
        if (from !== undefined && from !== String(i) && !seen.has(key)) {
          seen.add(key);
          edges.push({ from, to: String(i) });
        }
      }
    });
    return { shown, edges };
  }, [tasks]);
  const [placed, setPlaced] = useState<LayoutResponse | undefined>();
  useEffect(() => {
    let live = true;
    void layout({
      nodes: shape.shown.map((_, i) => ({ id: String(i), width: NODE_WIDTH, height: NODE_HEIGHT })),
      edges: shape.edges,
    }).then((result) => live && setPlaced(result));
    return () => {
      live = false;
    };
  }, [shape]);
  if (tasks.length === 0)
    return <p className="muted">No job graph yet (the build has not planned, or runs nothing itself).</p>;
  if (!placed) return <p className="muted">Laying out {tasks.length} jobs…</p>;
  return (
    <div className="graph-scroll">
      {tasks.length > MAX_NODES && (
        <p className="muted">
          Showing the first {MAX_NODES} of {tasks.length} jobs.
        </p>
      )}
      <svg
        width={placed.width}
        height={placed.height}
        viewBox={`0 0 ${placed.width} ${placed.height}`}
        role="group"
        aria-label={`Job graph: ${tasks.length} jobs`}
      >
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" className="edge-head" />
          </marker>
        </defs>
        {placed.edges.map((edge) => (
          <polyline
            key={`${edge.from}>${edge.to}`}
            className="edge"
            markerEnd="url(#arrow)"
            points={edge.points.map((p) => `${p.x},${p.y}`).join(" ")}
          />
        ))}
        {shape.shown.map((task, i) => {
          const at = placed.nodes[String(i)];
          if (!at) return null;
          const outputs = task.config?.outputs.map((o) => o.str) ?? [];
          const run = outputs.map((o) => runByOutput.get(o)).find(Boolean);
          const isDelegated = !run && outputs.length > 0 && outputs.every((o) => delegated.has(o));
          const tone = run?.tone ?? (isDelegated ? "info" : "muted");
          const word = run?.word ?? (isDelegated ? "delegated" : "waiting");
          const label = `${task.job?.label ?? ""}: ${outputs[0] ?? ""}${outputs.length > 1 ? ` +${outputs.length - 1}` : ""}`;
          const body = (
            <g
              transform={`translate(${at.x - NODE_WIDTH / 2},${at.y - NODE_HEIGHT / 2})`}
              className={`node tone-${tone}`}
            >
              <title>{`${label} — ${word}`}</title>
              <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx="6" />
              <text x="10" y="18" className="node-job">
                {task.job?.label} · {word}
              </text>
              <text x="10" y="35" className="node-ref">
                {truncate(outputs[0] ?? "", 38)}
              </text>
            </g>
          );
          return run ? (
            <Link key={i} to={`/job-runs/${encodeURIComponent(run.jobRunId)}`} aria-label={`${label}, ${word}`}>
              {body}
            </Link>
          ) : (
            <g key={i} aria-label={`${label}, ${word}`}>
              {body}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
