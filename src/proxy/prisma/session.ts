/**
 * Prisma introspection mode (proxy-http-auth-config.md §3.10): the proxy answers every
 * client message itself from the electrified schema; nothing reaches Postgres. A state
 * machine over client frames, writing into the session's output. No I/O.
 *
 * Message flow as Prisma sends it: Parse (named statement) / Describe S / Sync →
 * ParseComplete, ParameterDescription, RowDescription, ReadyForQuery; then Bind / Execute /
 * Sync → BindComplete, DataRow…, CommandComplete `SELECT n`, ReadyForQuery; Close / Sync →
 * CloseComplete, ReadyForQuery. Simple `Query`s (`SET …`) get a CommandComplete of their first
 * two words. After an error the messages up to the next Sync are skipped, as Postgres does.
 */
import {
  type BackendMessage,
  decodeFrontend,
  encodeBackend,
  type Frame,
  type NoticeFields,
} from "../../pgwire/mod.ts";
import { EMPTY_SCHEMA, type SchemaModel } from "../../schema/mod.ts";
import type { ModeOutput } from "../modes.ts";
import type { SqlParse } from "../parse_sql.ts";
import {
  type Cell,
  decodeName,
  decodeNameArray,
  encodeCell,
  fieldDescriptions,
  resultFormats,
} from "./codec.ts";
import type { KnownQuery } from "./queries.ts";
import { isVersionQuery, recognise } from "./recognise.ts";

export const UNRECOGNISED_QUERY =
  "Unrecognised introspection query. Please raise a bug on https://github.com/electric-sql/electric";

interface Portal {
  query: KnownQuery;
  params: (Uint8Array | null)[];
  paramFormats: number[];
  formats: number[];
}

export interface PrismaState {
  statements: Map<string, KnownQuery>;
  portals: Map<string, Portal>;
  /** An error was answered: skip messages until Sync. */
  skipping: boolean;
  /** The next ReadyForQuery reports `E` (§3.10: after an unrecognised query). */
  failed: boolean;
}

export interface PrismaContext {
  /** The electrified schema now (undefined before the service has loaded one). */
  schema?: () => SchemaModel | undefined;
}

export function initialPrisma(): PrismaState {
  return { statements: new Map(), portals: new Map(), skipping: false, failed: false };
}

const send = (out: ModeOutput, ...messages: BackendMessage[]) => {
  for (const m of messages) out.toClient.push(encodeBackend(m));
};

function fail(state: PrismaState, out: ModeOutput, fields: NoticeFields): void {
  send(out, { type: "ErrorResponse", fields });
  state.skipping = true;
  state.failed = true;
}

function unrecognised(state: PrismaState, out: ModeOutput, sql: string): void {
  out.logs.push({ level: "error", message: `${UNRECOGNISED_QUERY}: ${JSON.stringify(sql)}` });
  fail(state, out, { M: UNRECOGNISED_QUERY, q: sql });
}

function missing(state: PrismaState, out: ModeOutput, code: string, message: string): void {
  fail(state, out, { S: "ERROR", V: "ERROR", C: code, M: message });
}

function noStatement(state: PrismaState, out: ModeOutput, name: string): void {
  missing(state, out, "26000", `prepared statement "${name}" does not exist`);
}

/** Handles one client frame; `parsed` is the statement list of a Query or Parse. */
export function onPrismaFrame(
  state: PrismaState,
  out: ModeOutput,
  frame: Frame,
  options: { parsed?: SqlParse; context: PrismaContext },
): void {
  const decoded = decodeFrontend(frame);
  if (!decoded.ok) {
    send(out, {
      type: "ErrorResponse",
      fields: { S: "FATAL", V: "FATAL", C: "08P01", M: decoded.error.message },
    });
    out.close = true;
    return;
  }
  const message = decoded.message;
  const model = () => options.context.schema?.() ?? EMPTY_SCHEMA;
  if (message.type === "Terminate") {
    out.toUpstream.push(frame.raw);
    out.close = true;
    return;
  }
  if (message.type === "Sync") {
    send(out, { type: "ReadyForQuery", status: state.failed ? "E" : "I" });
    state.skipping = false;
    state.failed = false;
    return;
  }
  if (message.type === "Query") return simpleQuery(state, out, message.sql, options.parsed, model);
  if (state.skipping) return;
  switch (message.type) {
    case "Parse": {
      const statements = options.parsed?.ok ? options.parsed.statements : undefined;
      const query = recognise(message.sql, statements);
      if (!query) return unrecognised(state, out, message.sql);
      state.statements.set(message.name, query);
      return send(out, { type: "ParseComplete" });
    }
    case "Bind": {
      const query = state.statements.get(message.statement);
      if (!query) return noStatement(state, out, message.statement);
      state.portals.set(message.portal, {
        query,
        params: message.params,
        paramFormats: message.paramFormats,
        formats: resultFormats(message.resultFormats, query.columns.length),
      });
      return send(out, { type: "BindComplete" });
    }
    case "Describe": {
      if (message.kind === "S") {
        const query = state.statements.get(message.name);
        if (!query) return noStatement(state, out, message.name);
        return send(
          out,
          { type: "ParameterDescription", types: query.params },
          { type: "RowDescription", fields: fieldDescriptions(query.columns) },
        );
      }
      const portal = state.portals.get(message.name);
      if (!portal) return missing(state, out, "34000", `portal "${message.name}" does not exist`);
      return send(out, {
        type: "RowDescription",
        fields: fieldDescriptions(portal.query.columns, portal.formats),
      });
    }
    case "Execute": {
      const portal = state.portals.get(message.portal);
      if (!portal) return missing(state, out, "34000", `portal "${message.portal}" does not exist`);
      const rows = portal.query.rows({ model: model(), ...parameters(portal) });
      sendRows(out, portal.query, rows, portal.formats);
      return;
    }
    case "Close":
      if (message.kind === "S") state.statements.delete(message.name);
      else state.portals.delete(message.name);
      return send(out, { type: "CloseComplete" });
    case "Flush":
      return; // every answer is written at once
    default:
      return missing(state, out, "0A000", `${message.type} is not supported in introspection mode`);
  }
}

function parameters(portal: Portal): { name?: string; names: string[] } {
  // No codes: text; one code: every parameter; otherwise one per parameter.
  const format = portal.paramFormats[0] ?? 0;
  const first = portal.params[0] ?? null;
  if (portal.query.params[0] === 19) return { name: decodeName(first), names: [] };
  return { names: first === null ? [] : decodeNameArray(first, format) ?? [] };
}

function sendRows(out: ModeOutput, query: KnownQuery, rows: Cell[][], formats: number[]): void {
  for (const row of rows) {
    send(out, {
      type: "DataRow",
      values: row.map((cell, i) => encodeCell(cell, query.columns[i].type, formats[i] ?? 0)),
    });
  }
  send(out, { type: "CommandComplete", tag: `SELECT ${rows.length}` });
}

/**
 * A simple query: a recognised SELECT (or the version query) is answered with its rows in
 * text format; another SELECT is unrecognised; anything else is acknowledged with the tag of
 * its first two words (`SET search_path = x` → `SET SEARCH_PATH`), nothing executed.
 */
function simpleQuery(
  state: PrismaState,
  out: ModeOutput,
  sql: string,
  parsed: SqlParse | undefined,
  model: () => SchemaModel,
): void {
  state.skipping = false;
  const text = sql.trim().replace(/;\s*$/, "").trim();
  if (text === "") {
    return send(out, { type: "EmptyQueryResponse" }, { type: "ReadyForQuery", status: "I" });
  }
  const statements = parsed?.ok ? parsed.statements : undefined;
  const query = recognise(sql, statements);
  if (query && (query.params.length === 0 || isVersionQuery(sql))) {
    const formats = resultFormats([], query.columns.length);
    send(out, { type: "RowDescription", fields: fieldDescriptions(query.columns) });
    sendRows(out, query, query.rows({ model: model(), names: [] }), formats);
    return send(out, { type: "ReadyForQuery", status: "I" });
  }
  const words = text.split(/\s+/);
  if (query || words[0].toUpperCase() === "SELECT") {
    // A known query with parameters cannot run as a simple query; other SELECTs are unknown.
    unrecognised(state, out, sql);
    state.skipping = false;
    state.failed = false;
    return send(out, { type: "ReadyForQuery", status: "E" });
  }
  const tag = words.slice(0, 2).join(" ").toUpperCase();
  send(out, { type: "CommandComplete", tag }, { type: "ReadyForQuery", status: "I" });
}
