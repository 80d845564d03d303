/** /jobs: the service's graph: each job's output patterns (each a partition search), version and command. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { client } from "../lib/api.ts";
import { plural } from "../lib/format.ts";
import { ErrorBox, Loading } from "../components/common.tsx";

export function JobsPage() {
  const graph = useQuery({ queryKey: ["graph"], queryFn: ({ signal }) => client.getGraph({}, { signal }) });
  if (graph.error) return <ErrorBox error={graph.error} />;
  if (!graph.data) return <Loading what="the graph" />;
  const g = graph.data.graph;
  const jobs = g?.jobs ?? [];
  return (
    <section>
      <h1>Jobs</h1>
      <p className="count">
        {g?.label ? (
          <>
            Graph <strong>{g.label}</strong>
            {g.file ? ` (${g.file})` : ""}:{" "}
          </>
        ) : null}
        {plural(jobs.length, "job")}, {plural(graph.data.triggers.length, "trigger")} (
        <Link to="/triggers">triggers</Link>)
      </p>
      <table>
        <thead>
          <tr>
            <th>Job</th>
            <th>Output patterns</th>
            <th>Version</th>
            <th>Runs</th>
            <th>Defined at</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.label?.label}>
              <td>
                <strong>{job.label?.label}</strong>
              </td>
              <td>
                <ul className="plain">
                  {job.outputPatterns.map((pattern) => (
                    <li key={pattern}>
                      <Link to={`/partitions?search=${encodeURIComponent(pattern)}`}>{pattern}</Link>
                    </li>
                  ))}
                </ul>
              </td>
              <td>{job.version}</td>
              <td>
                {job.execKind === "command" ? (
                  <code>{job.execCommand.join(" ")}</code>
                ) : (
                  <span className="muted">{job.execKind}</span>
                )}
              </td>
              <td className="muted">{job.definedAt}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
