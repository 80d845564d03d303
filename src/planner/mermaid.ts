/**
 * @module A JobGraph as a mermaid flowchart: partitions are rounded nodes,
 * job runs are boxes, MATERIALIZE inputs solid edges and QUERY inputs dotted
 * ones. Requested partitions are highlighted.
 */
import { DepType, type JobGraph } from "../gen/databuild_pb.ts";

/** Returns mermaid source (`flowchart LR`) for the graph. */
export function jobGraphToMermaid(jobGraph: JobGraph): string {
  const partitionIds = new Map<string, string>();
  const lines = ["flowchart LR"];
  const partition = (ref: string): string => {
    let id = partitionIds.get(ref);
    if (!id) {
      id = `p${partitionIds.size}`;
      partitionIds.set(ref, id);
      lines.push(`  ${id}(["${escapeLabel(ref)}"])`);
    }
    return id;
  };
  const edges: string[] = [];
  jobGraph.nodes.forEach((task, i) => {
    const taskId = `t${i}`;
    lines.push(`  ${taskId}["${escapeLabel(task.job!.label)}"]`);
    for (const input of task.config!.inputs) {
      const arrow = input.depType === DepType.QUERY ? "-.->" : "-->";
      edges.push(`  ${partition(input.partitionRef!.str)} ${arrow} ${taskId}`);
    }
    for (const output of task.config!.outputs) edges.push(`  ${taskId} --> ${partition(output.str)}`);
  });
  lines.push(...edges);
  lines.push("  classDef job fill:#eef3ff,stroke:#4a67c5;");
  lines.push("  classDef requested fill:#fff4d6,stroke:#c58a00,stroke-width:2px;");
  if (jobGraph.nodes.length > 0) lines.push(`  class ${jobGraph.nodes.map((_, i) => `t${i}`).join(",")} job;`);
  const requested = jobGraph.outputs.map((r) => partitionIds.get(r.str)).filter((id) => id !== undefined);
  if (requested.length > 0) lines.push(`  class ${requested.join(",")} requested;`);
  return lines.join("\n") + "\n";
}

/** Mermaid labels are quoted; quotes and "#" must be entity-encoded. */
function escapeLabel(text: string): string {
  return text.replace(/#/g, "#35;").replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}
