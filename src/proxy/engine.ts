/**
 * The ready phase of a proxy session (proxy-http-auth-config.md §3.5–3.9): client messages are
 * grouped into units (a `Query`, or extended messages up to `Sync`/`Flush`); each unit is
 * either forwarded untouched (the fast path: no copy, no wait, pipelining preserved) or run by
 * a plan (`plans.ts`) that interleaves the proxy's own statements with the client's.
 *
 * Responses are attributed with a FIFO of expectations, one per answer the upstream owes:
 * "pass" entries (a forwarded Query, FunctionCall or Sync, up to its `ReadyForQuery`) and "ext"
 * entries (a forwarded extended message, up to its final message) relay everything; when an
 * extended message fails, Postgres skips to the next Sync and the entries it skips are dropped.
 * "op" entries belong to a plan step and are relayed, held or swallowed as the step asks, and
 * their `ReadyForQuery` resumes the plan. A plan starts only once every earlier expectation is
 * met, so its statements never interleave with others.
 * The transaction status is the upstream's own (`ReadyForQuery`), never guessed from SQL.
 */
import {
  decodeBackend,
  decodeFrontend,
  type Frame,
  type FrontendMessage,
  type TransactionStatus,
} from "../pgwire/mod.ts";
import { type Engine, errorBytes, type OpResult, type Plan, readyBytes } from "./engine_state.ts";
import { protocolViolation } from "./errors.ts";
import type { SqlParse } from "./parse_sql.ts";
import { classifyUnit, extendedPlan, simplePlan, type Unit, type UnitKind } from "./plans.ts";
import type { Output } from "./session_io.ts";

function setStatus(engine: Engine, status: TransactionStatus): void {
  engine.status = status;
  if (status === "I") {
    engine.txElectrified = false;
    engine.txVersionAssigned = false;
    engine.txTables.clear();
    engine.txIndexes.clear();
  }
}

const Z = 0x5a; // 'Z' ReadyForQuery

export function onClientFrame(engine: Engine, out: Output, frame: Frame, parsed?: SqlParse): void {
  if (engine.mode === "transparent") {
    out.toUpstream.push(frame.raw);
    if (frame.tag === 0x58) close(engine, out); // 'X' Terminate
    return;
  }
  const decoded = decodeFrontend(frame);
  if (!decoded.ok) {
    out.toClient.push(errorBytes(protocolViolation(decoded.error.message)));
    return close(engine, out);
  }
  const message = decoded.message;
  switch (message.type) {
    case "Terminate":
      out.toUpstream.push(frame.raw);
      return close(engine, out);
    case "CopyData":
    case "CopyDone":
    case "CopyFail":
      // COPY FROM STDIN data belongs to the statement already running upstream.
      out.toUpstream.push(frame.raw);
      return;
    case "PasswordMessage":
      out.toClient.push(errorBytes(protocolViolation("Unexpected password message")));
      return close(engine, out);
  }
  engine.pending.push({ frame, message, parsed });
  if (
    message.type === "Query" || message.type === "Sync" || message.type === "Flush" ||
    message.type === "FunctionCall"
  ) {
    pump(engine, out);
  }
}

function close(engine: Engine, out: Output): void {
  engine.closed = true;
  out.close = true;
}

/** Takes the next complete unit off `pending`, if one has arrived. */
function nextUnit(engine: Engine): Unit | undefined {
  const end = engine.pending.findIndex((p) =>
    p.message.type === "Query" || p.message.type === "Sync" || p.message.type === "Flush" ||
    p.message.type === "FunctionCall"
  );
  if (end < 0) return undefined;
  const items = engine.pending.splice(0, end + 1);
  return { items };
}

/** Starts as many waiting units as possible. */
function pump(engine: Engine, out: Output): void {
  while (!engine.plan && !engine.closed) {
    const unit = nextUnit(engine);
    if (!unit) return;
    if (engine.discardUntilSync) {
      // Set only by a plan, which starts with nothing outstanding and sends nothing after
      // its error: this ReadyForQuery cannot overtake an upstream answer.
      if (unit.items[unit.items.length - 1].message.type === "Sync") {
        engine.discardUntilSync = false;
        out.toClient.push(readyBytes("E"));
      }
      continue;
    }
    // While the upstream skips to the next Sync, it will not run this unit: nothing to plan.
    const kind: UnitKind = engine.upstreamSkipping ? { kind: "pass" } : classifyUnit(engine, unit);
    if (kind.kind === "pass") {
      for (const item of unit.items) out.toUpstream.push(item.frame.raw);
      for (const item of unit.items) owe(engine, item.message.type);
      continue;
    }
    if (engine.expect.length > 0) {
      // Wait until the upstream has answered everything sent before this unit.
      engine.pending.unshift(...unit.items);
      return;
    }
    const plan = kind.kind === "simple" ? simplePlan(engine, unit) : extendedPlan(engine, unit);
    startPlan(engine, out, plan);
  }
}

/** Records what the upstream owes for a message forwarded as received. */
function owe(engine: Engine, type: FrontendMessage["type"]): void {
  if (type === "Sync") {
    engine.upstreamSkipping = false;
    engine.expect.push({ kind: "pass", sync: true });
  } else if (type === "Flush" || engine.upstreamSkipping) {
    return; // Flush is not answered, and skipped messages are not either
  } else if (type === "Query" || type === "FunctionCall") {
    engine.expect.push({ kind: "pass", sync: false });
  } else {
    engine.expect.push({ kind: "ext" });
  }
}

/**
 * An extended message failed: Postgres discards every message up to the next Sync, so what
 * was forwarded before that Sync is owed nothing more; if that Sync is not forwarded yet,
 * what is forwarded until it is skipped too.
 */
function skipUntilSync(engine: Engine): void {
  for (;;) {
    const head = engine.expect[0];
    if (head === undefined) {
      engine.upstreamSkipping = true;
      return;
    }
    if (head.kind === "op" || (head.kind === "pass" && head.sync)) return;
    engine.expect.shift();
  }
}

function startPlan(engine: Engine, out: Output, plan: Plan): void {
  engine.plan = plan;
  drive(engine, out, undefined);
}

function drive(engine: Engine, out: Output, result: OpResult | undefined): void {
  const plan = engine.plan!;
  for (;;) {
    const next = plan.next(result);
    if (next.done) {
      engine.plan = undefined;
      out.logs.push(...engine.logs.splice(0));
      if (engine.captured) {
        out.captured = (out.captured ?? 0) + engine.captured;
        engine.captured = 0;
      }
      return pump(engine, out);
    }
    const op = next.value;
    if (op.op === "reply") {
      out.toClient.push(...op.bytes);
      result = undefined;
      continue;
    }
    if (op.op === "await_migration") {
      engine.captured = (engine.captured ?? 0) + 1;
      engine.awaitingMigration = true;
      out.awaitMigration = { txid: op.txid };
      return;
    }
    out.toUpstream.push(op.bytes);
    engine.expect.push({
      kind: "op",
      internal: op.internal,
      hold: op.hold ?? false,
      collect: op.collect ?? false,
      relayNotices: op.relayNotices ?? false,
      rows: [],
      held: [],
    });
    return;
  }
}

const decoder = new TextDecoder();

/**
 * Appends `raw` to `list`, extending the last entry instead when `raw` directly follows it in
 * the same buffer (consecutive frames of one read leave as one write, without copying).
 */
export function pushRaw(list: Uint8Array[], raw: Uint8Array): void {
  const last = list[list.length - 1];
  if (
    last !== undefined && last.buffer === raw.buffer &&
    last.byteOffset + last.byteLength === raw.byteOffset
  ) {
    list[list.length - 1] = new Uint8Array(
      last.buffer,
      last.byteOffset,
      last.byteLength + raw.byteLength,
    );
  } else {
    list.push(raw);
  }
}

/** The message that completes a Parse, Bind, Close, Describe or Execute that succeeded. */
const EXTENDED_DONE = new Set([
  0x31, // '1' ParseComplete
  0x32, // '2' BindComplete
  0x33, // '3' CloseComplete
  0x54, // 'T' RowDescription (Describe)
  0x6e, // 'n' NoData (Describe)
  0x43, // 'C' CommandComplete (Execute)
  0x49, // 'I' EmptyQueryResponse (Execute)
  0x73, // 's' PortalSuspended (Execute)
]);

/** The wait of an `await_migration` step ended: the plan goes on (`known`: in time). */
export function onMigrationKnown(engine: Engine, out: Output, known: boolean): void {
  if (!engine.awaitingMigration || !engine.plan) return;
  engine.awaitingMigration = false;
  drive(engine, out, { ok: known, status: engine.status, rows: [], held: [] });
}

export function onUpstreamFrame(engine: Engine, out: Output, frame: Frame): void {
  const head = engine.expect[0];
  if (engine.mode === "transparent" || !head || head.kind !== "op") {
    pushRaw(out.toClient, frame.raw);
    if (head?.kind === "ext" && engine.mode !== "transparent") {
      if (frame.tag === 0x45) skipUntilSync(engine); // 'E' ErrorResponse
      else if (EXTENDED_DONE.has(frame.tag)) engine.expect.shift();
      else return;
      if (engine.expect.length === 0) pump(engine, out);
      return;
    }
    if (frame.tag === Z && engine.mode !== "transparent") {
      setStatus(engine, readyStatus(frame));
      if (head) engine.expect.shift();
      pump(engine, out);
    }
    return;
  }
  const relay = (raw: Uint8Array) => {
    if (head.hold) head.held.push(raw);
    else pushRaw(out.toClient, raw);
  };
  switch (frame.tag) {
    case Z: {
      engine.expect.shift();
      const status = readyStatus(frame);
      setStatus(engine, status);
      const result: OpResult = {
        ok: head.error === undefined,
        status,
        rows: head.rows,
        held: head.held,
        ...(head.error ? { error: head.error, errorRaw: head.errorRaw } : {}),
      };
      return drive(engine, out, result);
    }
    case 0x45: { // 'E' ErrorResponse
      const decoded = decodeBackend(frame);
      head.error = decoded.ok && decoded.message.type === "ErrorResponse"
        ? decoded.message.fields
        : { S: "ERROR", C: "XX000", M: "Malformed error response" };
      head.errorRaw = frame.raw;
      if (!head.internal) relay(frame.raw);
      return;
    }
    case 0x4e: // 'N' NoticeResponse
      if (!head.internal || head.relayNotices) relay(frame.raw);
      return;
    case 0x41: // 'A' NotificationResponse
    case 0x53: // 'S' ParameterStatus
      out.toClient.push(frame.raw);
      return;
    case 0x44: // 'D' DataRow
      if (head.collect) {
        const decoded = decodeBackend(frame);
        if (decoded.ok && decoded.message.type === "DataRow") {
          head.rows.push(decoded.message.values.map((v) => v === null ? null : decoder.decode(v)));
        }
        return;
      }
      if (!head.internal) relay(frame.raw);
      return;
    default:
      if (!head.internal) relay(frame.raw);
  }
}

function readyStatus(frame: Frame): TransactionStatus {
  const c = String.fromCharCode(frame.body[0] ?? 0x49);
  return c === "T" || c === "E" ? c : "I";
}
