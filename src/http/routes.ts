/**
 * Routing the way the reference does it: a request belongs to a route when its path, with
 * empty segments ignored, starts with the route's segments. `//proxy` (which the real CLI
 * sends) and `/ws/` thus reach the same handlers as `/proxy` and `/ws`. `/` (and `//`) is the
 * status page.
 */

export type RouteName = "page" | "status" | "migrations" | "ws" | "proxy" | "metrics";

const PREFIXES: ReadonlyArray<readonly [RouteName, readonly string[]]> = [
  ["status", ["api", "status"]],
  ["metrics", ["metrics"]],
  ["migrations", ["api", "migrations"]],
  ["ws", ["ws"]],
  ["proxy", ["proxy"]],
];

export interface RouteMatch {
  route: RouteName;
  /** Segments after the prefix; `/api/status/x` leaves ["x"]. */
  rest: string[];
}

/** Pure: which route a path belongs to, if any. */
export function matchRoute(pathname: string): RouteMatch | undefined {
  const segments = pathname.split("/").filter((segment) => segment !== "");
  // The status page is the root only: an empty prefix would match every path.
  if (segments.length === 0) return { route: "page", rest: [] };
  for (const [route, prefix] of PREFIXES) {
    if (prefix.every((part, i) => segments[i] === part)) {
      return { route, rest: segments.slice(prefix.length) };
    }
  }
  return undefined;
}

/**
 * The path of a request's URL, with `new URL`'s normalisation, but whatever its authority:
 * the runtime builds the URL from the Host header, and one with a bad port (`h:99999`) makes
 * the whole URL unparsable although the request line's path is fine.
 */
export function requestPath(url: string): string {
  const path = url.replace(/^[^:/?#]+:\/\/[^/?#]*/, "");
  return new URL(`http://localhost${path.startsWith("/") ? "" : "/"}${path}`).pathname;
}
