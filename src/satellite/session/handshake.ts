/**
 * Checks a `/ws` request before upgrading it (proxy-http-auth-config.md §2.4): a valid
 * WebSocket upgrade, exactly one `electric.X.Y` subprotocol, and a client version this
 * server speaks. Pure: headers in, decision out.
 */
import { hasUpgradeOption, isWebSocketKey } from "../../runtime/mod.ts";

const MIN_VERSION: Version = [0, 10, 0];
const MAX_VERSION: Version = [0, 12, 1];

type Version = [number, number, number];

export type HandshakeDecision =
  | { ok: true; protocol: string }
  | { ok: false; status: 400; body: string };

export function checkHandshake(method: string, headers: Headers): HandshakeDecision {
  const bad = { ok: false as const, status: 400 as const, body: "Bad request" };
  if (method !== "GET") return bad;
  if (headers.get("upgrade")?.toLowerCase() !== "websocket") return bad;
  if (!hasUpgradeOption(headers.get("connection"))) return bad;
  if (
    headers.get("sec-websocket-version") !== "13" ||
    !isWebSocketKey(headers.get("sec-websocket-key"))
  ) {
    return bad;
  }

  const missing = {
    ok: false as const,
    status: 400 as const,
    body: "Missing satellite websocket subprotocol",
  };
  // Repeated headers arrive joined with ", ", and then fail as one value (as in the reference).
  const offered = headers.get("sec-websocket-protocol");
  if (!offered?.startsWith("electric.")) return missing;
  const rest = offered.slice("electric.".length);
  const match = /^(\d+)\.(\d+)$/.exec(rest);
  if (rest.length >= 20 || !match) return missing;
  const version: Version = [Number(match[1]), Number(match[2]), 0];
  if (compare(version, MIN_VERSION) < 0 || compare(version, MAX_VERSION) > 0) {
    return {
      ok: false,
      status: 400,
      body: `Cannot connect satellite version ${version.join(".")}: this server requires >= ${
        MIN_VERSION.join(".")
      } and <= ${MAX_VERSION.join(".")}`,
    };
  }
  return { ok: true, protocol: offered };
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
