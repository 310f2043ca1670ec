/**
 * The HTTP face of the service: the status page (`/`), `/api/status` (its plain texts, or the
 * status page's figures as JSON when asked for), and the mount points where the Satellite
 * WebSocket (`/ws`), the migrations listing (`/api/migrations`) and the proxy tunnel
 * (`/proxy`) attach. Every request is logged (`GET /path`, then `Sent <status> in <ms>`), at
 * debug level for what monitoring polls (`/`, `/metrics`, the JSON status), else at info.
 * `/metrics` answers the metrics registry in Prometheus text format.
 *
 * Plain-text answers carry no Content-Type, like the reference; clients read status and body.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import {
  formatPrometheus,
  type Logger,
  type MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
} from "../telemetry/mod.ts";
import type { ConnectorState } from "../storage/mod.ts";
import { matchRoute, requestPath } from "./routes.ts";
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from "./status_page.ts";
import { statusDocument, type StatusSource, wantsJson } from "./status_json.ts";

/** A handler mounted under a route; it sees the Hono context and the remaining segments. */
export type MountedHandler = (c: Context, rest: string[]) => Response | Promise<Response>;

export interface AppOptions {
  logger: Logger;
  /** The connector's current state, or undefined when there is no connector (it crashed). */
  connectorState: () => ConnectorState | undefined;
  /** Whether PG_PROXY_PORT enables the WebSocket tunnel. */
  proxyTunnelEnabled: boolean;
  /** Served as Prometheus text at `GET /metrics`. */
  metrics?: MetricsRegistry;
  /** What the status page and `/api/status?format=json` show; absent parts show as null. */
  status?: StatusSource;
  mounts?: {
    /** Satellite WebSocket; called only once Postgres is ready. */
    ws?: MountedHandler;
    /** `GET /api/migrations`. */
    migrations?: MountedHandler;
    /** Proxy tunnel; called only when the tunnel is enabled. */
    proxy?: MountedHandler;
  };
}

const CACHE_CONTROL = "max-age=0, private, must-revalidate";
const encoder = new TextEncoder();

/** A plain-text response without a Content-Type header. */
export function plain(status: number, body: string): Response {
  return new Response(status === 204 ? null : encoder.encode(body), {
    status,
    headers: { "cache-control": CACHE_CONTROL },
  });
}

/** `/metrics`, the status page and its JSON figures: logged at debug, not info. */
function isPolling(path: string, url: string): boolean {
  if (path === "/" || path === "/metrics") return true;
  // Not `new URL(url)`: a request with a malformed Host makes an URL that does not parse.
  return path === "/api/status" && /[?&]format=json(&|#|$)/.test(url);
}

export function createApp(options: AppOptions): Hono {
  const { logger } = options;
  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    const path = requestPath(c.req.url);
    // Scrapers and the status page poll every few seconds: their requests would bury the log.
    const log = isPolling(path, c.req.url) ? logger.debug : logger.info;
    log.call(logger, `${c.req.method} ${path}`);
    await next();
    const elapsed = Math.round(performance.now() - started);
    log.call(logger, `Sent ${c.res.status} in ${elapsed}ms`);
  });

  app.all("*", (c) => {
    const match = matchRoute(requestPath(c.req.url));
    if (!match) return plain(404, "Not found");
    const mounts = options.mounts ?? {};
    switch (match.route) {
      case "page":
        if (c.req.method !== "GET") return plain(404, "Not found");
        return statusPage();
      case "status":
        if (c.req.method !== "GET" || match.rest.length > 0) return plain(404, "Not found");
        if (wantsJson(c.req.url, c.req.header("accept"))) {
          return statusJson(statusDocument(options.connectorState(), options.status ?? {}));
        }
        return statusResponse(options.connectorState());
      case "metrics":
        if (c.req.method !== "GET" || match.rest.length > 0) return plain(404, "Not found");
        return options.metrics ? metricsResponse(options.metrics) : notAvailable("metrics");
      case "migrations":
        if (c.req.method !== "GET" || match.rest.length > 0) return plain(404, "Not found");
        return mounts.migrations ? mounts.migrations(c, match.rest) : notAvailable("migrations");
      case "ws": {
        const state = options.connectorState();
        if (state !== "ready") {
          return plain(503, `Postgres connection is not ready: ${state ?? "initialization"}...`);
        }
        return mounts.ws ? mounts.ws(c, match.rest) : notAvailable("Satellite WebSocket");
      }
      case "proxy":
        if (!options.proxyTunnelEnabled) {
          logger.warning(
            "Rejected a migrations proxy tunnel request: PG_PROXY_PORT does not enable it.",
          );
          return plain(404, "Migrations proxy is not configured to accept WebSocket connections");
        }
        return mounts.proxy ? mounts.proxy(c, match.rest) : notAvailable("proxy tunnel");
    }
  });

  return app;
}

function statusResponse(state: ConnectorState | undefined): Response {
  if (state === undefined) return plain(503, "Database connection failure.");
  if (state === "ready") return plain(200, "Connection to Postgres is up!");
  // The reference's typo ("Posgres") is kept: tools compare this text.
  return plain(503, "Initializing connection to Posgres...");
}

function statusPage(): Response {
  return new Response(STATUS_PAGE_HTML, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": CACHE_CONTROL,
      "content-security-policy": STATUS_PAGE_CSP,
      "x-content-type-options": "nosniff",
    },
  });
}

/**
 * Always 200, whatever the connector's state (`status` in the body says it): the page polls
 * this, and a browser logs every non-2xx answer as an error. Probes use the plain texts.
 */
function statusJson(document: unknown): Response {
  return new Response(JSON.stringify(document), {
    headers: { "content-type": "application/json", "cache-control": CACHE_CONTROL },
  });
}

/** The registry's snapshot, taken now, as Prometheus text. */
function metricsResponse(metrics: MetricsRegistry): Response {
  return new Response(encoder.encode(formatPrometheus(metrics.snapshot())), {
    status: 200,
    headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
  });
}

/** A capability whose handler is not mounted in this build. */
function notAvailable(what: string): Response {
  return plain(501, `The ${what} endpoint is not available in this version of the service.`);
}
