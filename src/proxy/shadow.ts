/**
 * Shadow-database mode (proxy-http-auth-config.md §3.11): `prisma migrate dev` replays the
 * migrations on a throw-away database named `prisma_migrate_shadow_db…`, which the upstream
 * connection opens instead of DATABASE_URL's. Everything is relayed — no capture, no
 * validation, no automatic transactions — except DDLX statements, which Postgres cannot run:
 * they are acknowledged with their `CommandComplete` tag and never executed.
 *
 * How, without reordering anything: a DDLX statement is cut out of the text sent upstream
 * (a `Query` of only DDLX becomes the empty query, a `Parse` of one parses the empty
 * statement), and the upstream's answer to the gap is rewritten: the tags are inserted among
 * the statements' CommandCompletes in text order (dropped after an error, as Postgres drops
 * the statements after a failing one), and an `EmptyQueryResponse` for a DDLX portal becomes
 * its CommandComplete. The transaction status stays Postgres's own.
 * Answers are attributed by counting ReadyForQuery: each Query, FunctionCall and Sync is owed
 * one. No I/O.
 */
import { decodeFrontend, encodeBackend, encodeFrontend, type Frame } from "../pgwire/mod.ts";
import { ddlxTag } from "./ddlx.ts";
import type { ModeOutput } from "./modes.ts";
import type { SqlParse } from "./parse_sql.ts";

/** A forwarded Query with DDLX in it: per statement, null (sent) or the DDLX tag. */
interface QueryRewrite {
  kind: "query";
  epoch: number;
  segments: (string | null)[];
  /** Nothing but DDLX: the upstream answers EmptyQueryResponse, which is swallowed. */
  empty: boolean;
  failed: boolean;
}

/** A forwarded Execute: `tag` when its portal is a DDLX statement. */
interface ExecuteRewrite {
  kind: "execute";
  epoch: number;
  tag?: string;
}

export interface ShadowState {
  /** ReadyForQuery owed by upstream for what was forwarded (Query, FunctionCall, Sync). */
  sent: number;
  received: number;
  pending: (QueryRewrite | ExecuteRewrite)[];
  /** DDLX prepared statements and portals, by name, with their tags. */
  statements: Map<string, string>;
  portals: Map<string, string>;
}

export function initialShadow(): ShadowState {
  return { sent: 0, received: 0, pending: [], statements: new Map(), portals: new Map() };
}

const complete = (tag: string) => encodeBackend({ type: "CommandComplete", tag });

function ddlxTagsOf(parsed: SqlParse | undefined): (string | null)[] | undefined {
  if (!parsed?.ok || !parsed.statements.some((s) => s.kind === "ddlx")) return undefined;
  return parsed.statements.map((s) => s.kind === "ddlx" ? ddlxTag(s.command) : null);
}

export function onShadowClient(
  state: ShadowState,
  out: ModeOutput,
  frame: Frame,
  parsed?: SqlParse,
): void {
  switch (frame.tag) {
    case 0x51: { // 'Q' Query
      const segments = ddlxTagsOf(parsed);
      if (segments && parsed?.ok) {
        const kept = parsed.statements.filter((s) => s.kind !== "ddlx").map((s) => s.sql);
        const sql = kept.length === 0 ? "" : `${kept.join(";\n")};`;
        state.pending.push({
          kind: "query",
          epoch: state.sent,
          segments,
          empty: kept.length === 0,
          failed: false,
        });
        out.toUpstream.push(encodeFrontend({ type: "Query", sql }));
      } else {
        out.toUpstream.push(frame.raw);
      }
      state.sent++;
      return;
    }
    case 0x46: // 'F' FunctionCall
    case 0x53: // 'S' Sync
      state.sent++;
      out.toUpstream.push(frame.raw);
      return;
    case 0x58: // 'X' Terminate
      out.toUpstream.push(frame.raw);
      out.close = true;
      return;
    case 0x50: // 'P' Parse
    case 0x42: // 'B' Bind
    case 0x45: // 'E' Execute
    case 0x43: // 'C' Close
      return onExtended(state, out, frame, parsed);
    default:
      out.toUpstream.push(frame.raw);
  }
}

function onExtended(state: ShadowState, out: ModeOutput, frame: Frame, parsed?: SqlParse): void {
  const decoded = decodeFrontend(frame);
  if (!decoded.ok) {
    out.toUpstream.push(frame.raw); // Postgres reports the malformed message itself
    return;
  }
  const message = decoded.message;
  switch (message.type) {
    case "Parse": {
      const segments = ddlxTagsOf(parsed);
      if (segments?.length === 1 && segments[0] !== null) {
        state.statements.set(message.name, segments[0]);
        out.toUpstream.push(encodeFrontend({ ...message, sql: "" }));
        return;
      }
      state.statements.delete(message.name);
      break;
    }
    case "Bind": {
      const tag = state.statements.get(message.statement);
      if (tag === undefined) state.portals.delete(message.portal);
      else state.portals.set(message.portal, tag);
      break;
    }
    case "Execute":
      state.pending.push({
        kind: "execute",
        epoch: state.sent,
        tag: state.portals.get(message.portal),
      });
      break;
    case "Close":
      if (message.kind === "S") state.statements.delete(message.name);
      else state.portals.delete(message.name);
      break;
  }
  out.toUpstream.push(frame.raw);
}

export function onShadowUpstream(state: ShadowState, out: ModeOutput, frame: Frame): void {
  while (state.pending[0] !== undefined && state.pending[0].epoch < state.received) {
    state.pending.shift(); // answers Postgres skipped after an error
  }
  const head = state.pending[0]?.epoch === state.received ? state.pending[0] : undefined;
  if (frame.tag === 0x5a) { // 'Z' ReadyForQuery
    if (head?.kind === "query") {
      if (!head.failed) flushTags(head, out);
      state.pending.shift();
    }
    state.received++;
    out.toClient.push(frame.raw);
    return;
  }
  if (!head) {
    out.toClient.push(frame.raw);
    return;
  }
  if (head.kind === "query") return onQueryAnswer(head, out, frame);
  switch (frame.tag) {
    case 0x49: // 'I' EmptyQueryResponse
      out.toClient.push(head.tag === undefined ? frame.raw : complete(head.tag));
      state.pending.shift();
      return;
    case 0x43: // 'C' CommandComplete
    case 0x73: // 's' PortalSuspended
      state.pending.shift();
      break;
    case 0x45: // 'E' ErrorResponse: Postgres skips to the next Sync
      state.pending = state.pending.filter((p) => p.epoch !== state.received);
      break;
  }
  out.toClient.push(frame.raw);
}

function onQueryAnswer(head: QueryRewrite, out: ModeOutput, frame: Frame): void {
  switch (frame.tag) {
    case 0x43: // 'C' CommandComplete
    case 0x49: // 'I' EmptyQueryResponse
      leadingTags(head, out);
      if (head.empty) return; // the empty query stood for the DDLX statements
      head.segments.shift();
      out.toClient.push(frame.raw);
      leadingTags(head, out);
      return;
    case 0x45: // 'E' ErrorResponse: the statements after the failing one do not run
      leadingTags(head, out);
      head.failed = true;
      break;
    default:
      // Rows and notices belong to the next statement sent: tags before it go first.
      if (!head.failed && frame.tag !== 0x4e && frame.tag !== 0x53 && frame.tag !== 0x41) {
        leadingTags(head, out);
      }
  }
  out.toClient.push(frame.raw);
}

/** Tags of DDLX statements that come before the next statement sent upstream. */
function leadingTags(head: QueryRewrite, out: ModeOutput): void {
  while (head.segments.length > 0 && head.segments[0] !== null) {
    out.toClient.push(complete(head.segments.shift()!));
  }
}

function flushTags(head: QueryRewrite, out: ModeOutput): void {
  for (const tag of head.segments) if (tag !== null) out.toClient.push(complete(tag));
  head.segments = [];
}
