/**
 * @module Who is asking, as build requests and invalidations record it:
 * "user@host pid N".
 */
import { hostname, userInfo } from "node:os";

export function requester(): string {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): keep "unknown".
  }
  return `${user}@${hostname()} pid ${process.pid}`;
}
