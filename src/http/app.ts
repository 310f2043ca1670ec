/**
 * The HTTP face of the service: `/api/status`, and the mount points where the Satellite
 * WebSocket (`/ws`), the migrations listing (`/api/migrations`) and the proxy tunnel
 * (`/proxy`) attach. Every request is logged (`GET /path`, then `Sent <status> in <ms>`).
 *
 * Plain-text answers carry no Content-Type, like the reference; clients read status and body.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { Logger } from "../telemetry/mod.ts";
import type { ConnectorState } from "../storage/mod.ts";
import { matchRoute, requestPath } from "./routes.ts";

/** A handler mounted under a route; it sees the Hono context and the remaining segments. */
export type MountedHandler = (c: Context, rest: string[]) => Response | Promise<Response>;

export interface AppOptions {
  logger: Logger;
  /** The connector's current state, or undefined when there is no connector (it crashed). */
  connectorState: () => ConnectorState | undefined;
  /** Whether PG_PROXY_PORT enables the WebSocket tunnel. */
  proxyTunnelEnabled: boolean;
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

export function createApp(options: AppOptions): Hono {
  const { logger } = options;
  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    logger.info(`${c.req.method} ${requestPath(c.req.url)}`);
    await next();
    const elapsed = Math.round(performance.now() - started);
    logger.info(`Sent ${c.res.status} in ${elapsed}ms`);
  });

  app.all("*", (c) => {
    const match = matchRoute(requestPath(c.req.url));
    if (!match) return plain(404, "Not found");
    const mounts = options.mounts ?? {};
    switch (match.route) {
      case "status":
        if (c.req.method !== "GET" || match.rest.length > 0) return plain(404, "Not found");
        return statusResponse(options.connectorState());
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

/** A capability whose handler is not mounted in this build. */
function notAvailable(what: string): Response {
  return plain(501, `The ${what} endpoint is not available in this version of the service.`);
}
