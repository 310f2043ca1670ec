/**
 * `PG_PROXY_PORT` (doc 1.3.4): a TCP port, optionally prefixed with `http` to also enable the
 * WebSocket tunnel at `/proxy`. Unlike the generic integer converter this one is strict: the
 * port must be the whole string and positive, and the message quotes only the bad part.
 */
import { fail, ok, type Parsed } from "./converters.ts";

export const DEFAULT_PROXY_PORT = 65432;

export interface ProxyPort {
  port: number;
  httpTunnel: boolean;
}

const WHOLE_INTEGER = /^[+-]?\d+$/;

function port(part: string, httpTunnel: boolean): Parsed<ProxyPort> {
  const n = WHOLE_INTEGER.test(part) ? Number(part) : NaN;
  return n > 0 ? ok({ port: n, httpTunnel }) : fail(`PG_PROXY_PORT has invalid value: "${part}"`);
}

export function parseProxyPort(raw: string | undefined): Parsed<ProxyPort> {
  if (raw === undefined) return ok({ port: DEFAULT_PROXY_PORT, httpTunnel: false });
  const value = raw.toLowerCase();
  if (value === "http") return ok({ port: DEFAULT_PROXY_PORT, httpTunnel: true });
  if (value.startsWith("http:")) return port(value.slice("http:".length), true);
  return port(value, false);
}
