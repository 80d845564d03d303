/**
 * @module Test support: hosts made of Linux network namespaces on one
 * machine. Each host is a namespace with one veth link to a bridge in the
 * test's own namespace, where a PostgreSQL server can listen on the bridge's
 * address: the test's namespace plays the database host. A process started
 * `under` a host also gets a UTS namespace of its own, so it reports the
 * host's name, and liveness treats it as another machine (the same process
 * table notwithstanding). Needs root; everything is removed by `remove`.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface TestHost {
  readonly name: string;
  /** Its address on the test network. */
  readonly address: string;
  /** The argv prefix that runs a program on this host, under this host name. */
  readonly under: readonly string[];
  /** Cuts its link (as if its cable were pulled), or restores it. */
  setLink(up: boolean): void;
}

export interface TestNetwork {
  /** The address of the test's own namespace (the database host) on the network. */
  readonly serverAddress: string;
  /** The network in CIDR form, for pg_hba.conf. */
  readonly cidr: string;
  readonly hosts: readonly TestHost[];
  remove(): void;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Whether this process may make namespaces (root, with `ip` and `unshare`). */
export function canMakeNamespaces(): string | undefined {
  if (process.getuid?.() !== 0) return "making network namespaces needs root";
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    execFileSync("unshare", ["--version"], { stdio: "ignore" });
  } catch (error) {
    return `ip netns or unshare is unavailable: ${(error as Error).message}`;
  }
  return undefined;
}

/** Makes `names.length` hosts on a fresh /24 (10.X.Y.0) with a bridge in this namespace at .1. */
export function makeTestNetwork(names: readonly string[]): TestNetwork {
  const tag = randomBytes(3).toString("hex");
  const [x, y] = [200 + (randomBytes(1)[0]! % 50), randomBytes(1)[0]!];
  const prefix = `10.${x}.${y}`;
  const bridge = `dbb${tag}`;
  const made: string[] = [];
  const hosts: TestHost[] = [];
  const remove = () => {
    for (const ns of made) {
      try {
        ip("netns", "del", ns);
      } catch {
        // already gone
      }
    }
    try {
      ip("link", "del", bridge);
    } catch {
      // already gone
    }
  };
  try {
    ip("link", "add", bridge, "type", "bridge");
    ip("addr", "add", `${prefix}.1/24`, "dev", bridge);
    ip("link", "set", bridge, "up");
    names.forEach((name, i) => {
      const ns = `db${tag}${i}`;
      const outside = `dbv${tag}${i}`;
      const inside = `dbp${tag}${i}`;
      const address = `${prefix}.${10 + i}`;
      ip("netns", "add", ns);
      made.push(ns);
      ip("link", "add", outside, "type", "veth", "peer", "name", inside);
      ip("link", "set", inside, "netns", ns);
      ip("link", "set", outside, "master", bridge);
      ip("link", "set", outside, "up");
      ip("netns", "exec", ns, "ip", "addr", "add", `${address}/24`, "dev", inside);
      ip("netns", "exec", ns, "ip", "link", "set", inside, "up");
      ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
      hosts.push({
        name,
        address,
        under: ["ip", "netns", "exec", ns, "unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', name],
        setLink: (up) => ip("link", "set", outside, up ? "up" : "down"),
      });
    });
  } catch (error) {
    remove();
    throw error;
  }
  return { serverAddress: `${prefix}.1`, cidr: `${prefix}.0/24`, hosts, remove };
}
