import { Link } from "react-router";

export function NotFoundPage() {
  return (
    <section>
      <h1>No such page</h1>
      <p>
        Try <Link to="/partitions">the partitions</Link> or <Link to="/builds">the builds</Link>.
      </p>
    </section>
  );
}
