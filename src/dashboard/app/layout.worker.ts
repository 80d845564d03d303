/**
 * The job graph's layout (dagre), off the main thread: a build of
 * thousands of job runs is laid out without freezing the page.
 */
import dagre from "@dagrejs/dagre";

export interface LayoutRequest {
  readonly id: number;
  readonly nodes: readonly { id: string; width: number; height: number }[];
  readonly edges: readonly { from: string; to: string }[];
}

export interface LayoutResponse {
  readonly id: number;
  readonly width: number;
  readonly height: number;
  readonly nodes: Record<string, { x: number; y: number }>;
  readonly edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

self.addEventListener("message", (message: MessageEvent<LayoutRequest>) => {
  const { id, nodes, edges } = message.data;
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 60, marginx: 10, marginy: 10 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) graph.setNode(node.id, { width: node.width, height: node.height });
  for (const edge of edges) graph.setEdge(edge.from, edge.to);
  dagre.layout(graph);
  const placed: LayoutResponse["nodes"] = {};
  for (const node of nodes) {
    const n = graph.node(node.id);
    placed[node.id] = { x: n.x, y: n.y };
  }
  const response: LayoutResponse = {
    id,
    width: graph.graph().width ?? 0,
    height: graph.graph().height ?? 0,
    nodes: placed,
    edges: edges.map((edge) => ({ ...edge, points: graph.edge(edge.from, edge.to)?.points ?? [] })),
  };
  (self as unknown as Worker).postMessage(response);
});
