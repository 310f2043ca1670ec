/**
 * `GET /api/migrations?dialect=sqlite|postgresql[&version=V]` (proxy-http-auth-config.md §2.3):
 * a zip of every migration after V, 204 when there is none (or V is unknown), 403 with a JSON
 * error for a missing or unsupported dialect.
 */
import type { Context } from "hono";
import { type Dialect, migrationsArchive, type SchemaCatalog } from "../migrations/mod.ts";
import { plain } from "./app.ts";

export interface MigrationsRouteOptions {
  /** The catalog once loaded; waits up to `timeoutMs` for it. */
  catalog: (timeoutMs: number) => Promise<SchemaCatalog | undefined>;
}

const DIALECTS: readonly Dialect[] = ["sqlite", "postgresql"];

function jsonError(status: number, error: string): Response {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

export function migrationsHandler(options: MigrationsRouteOptions) {
  return async (c: Context): Promise<Response> => {
    const contentType = c.req.header("content-type");
    if (contentType !== undefined && !contentType.startsWith("application/json")) {
      return plain(415, "Unsupported Media Type");
    }
    // Repeated keys: the last one wins.
    const dialect = c.req.queries("dialect")?.at(-1);
    if (dialect === undefined) return jsonError(403, "missing required parameter 'dialect'");
    if (!DIALECTS.includes(dialect as Dialect)) {
      return jsonError(403, `unsupported dialect ${JSON.stringify(dialect)}`);
    }
    const catalog = await options.catalog(5_000);
    if (!catalog) return plain(500, "Internal server error: the schema is not loaded yet");
    const entries = catalog.after(c.req.queries("version")?.at(-1));
    if (!entries || entries.length === 0) return plain(204, "");
    return new Response(migrationsArchive(entries, dialect as Dialect), {
      status: 200,
      headers: {
        "content-type": "application/zip",
        "cache-control": "max-age=0, private, must-revalidate",
      },
    });
  };
}
