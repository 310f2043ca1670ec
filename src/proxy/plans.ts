/**
 * How a unit of client messages runs (proxy-http-auth-config.md §3.5–3.9). `classifyUnit`
 * picks the fast path ("pass": forwarded as received) whenever nothing in the unit needs the
 * proxy; otherwise a plan, written as a generator that yields one step at a time to the engine:
 *
 *   simple unit   [lookup electrified] → refusals checked for every statement up front →
 *                 [BEGIN] → each statement as its own Query (DDLX as CALLs, captured DDL
 *                 followed by capture_ddl and alter_shadow_table) → [version, COMMIT] →
 *                 one ReadyForQuery
 *   extended unit the unit forwarded whole between the same preparations and follow-ups;
 *                 a unit touching a DDLX statement is answered message by message instead.
 *
 * Nothing from a refused unit is sent upstream (only the read-only lookup).
 */
import {
  concatBytes,
  encodeBackend,
  encodeFrontend,
  type Frame,
  type FrontendMessage,
} from "../pgwire/mod.ts";
import {
  decide,
  type Decision,
  type ElectrifiedView,
  inspect,
  isDoBlock,
  type StatementInfo,
} from "./classify.ts";
import {
  type DdlxCommand,
  ddlxFeature,
  ddlxStatements,
  ddlxTag,
  type QualifiedName,
} from "./ddlx.ts";
import {
  type Engine,
  errorBytes,
  type Op,
  type OpResult,
  type Plan,
  readyBytes,
  tableKey,
} from "./engine_state.ts";
import {
  ddlxSyntaxError,
  ddlxUnsupported,
  doBlockRefused,
  type ProxyError,
  syntaxError,
} from "./errors.ts";
import type { SqlParse, Statement } from "./parse_sql.ts";
import {
  alterShadowTableSql,
  assignVersionSql,
  captureDdlSql,
  captureNotice,
  generatedVersion,
  GUARD_OFF_SQL,
  GUARD_ON_SQL,
  LOOKUP_ELECTRIFIED_SQL,
  migrationLateNotice,
} from "./upstream_sql.ts";

export interface UnitItem {
  frame: Frame;
  message: FrontendMessage;
  parsed?: SqlParse;
}

export interface Unit {
  items: UnitItem[];
}

export type UnitKind = { kind: "pass" } | { kind: "simple" } | { kind: "extended" };

type Step<T> = Generator<Op, T, OpResult | undefined>;

function query(sql: string): Uint8Array {
  return encodeFrontend({ type: "Query", sql });
}

function* internal(sql: string, options: { collect?: boolean; relayNotices?: boolean } = {}): Step<
  OpResult
> {
  return (yield { op: "send", bytes: query(sql), internal: true, ...options })!;
}

function* reply(...bytes: Uint8Array[]): Step<void> {
  yield { op: "reply", bytes };
}

function single(parsed: SqlParse | undefined): Statement | undefined {
  return parsed?.ok && parsed.statements.length === 1 ? parsed.statements[0] : undefined;
}

// ---------------------------------------------------------------------------------------
// Classification

/** Records Parse/Bind/Close effects, then decides how the unit runs. */
export function classifyUnit(engine: Engine, unit: Unit): UnitKind {
  const first = unit.items[0].message;
  if (first.type === "Query") return classifySimple(engine, unit.items[0].parsed);
  if (first.type === "FunctionCall") return { kind: "pass" };
  let gated = false;
  const endsWithSync = unit.items[unit.items.length - 1].message.type === "Sync";
  for (const { message, parsed } of unit.items) {
    switch (message.type) {
      case "Parse": {
        engine.statements.set(message.name, { sql: message.sql, parsed });
        if (parsed && !parsed.ok && !parsed.serverCanAnswer) gated = true;
        if (isDdlx(single(parsed))) gated = true;
        break;
      }
      case "Bind":
        engine.portals.set(message.portal, {
          statement: message.statement,
          params: message.params,
          formats: message.paramFormats,
        });
        if (isDdlx(statementOf(engine, message.statement))) gated = true;
        break;
      case "Describe":
      case "Close": {
        const stmt = message.kind === "S"
          ? statementOf(engine, message.name)
          : portalStatement(engine, message.name);
        if (isDdlx(stmt)) gated = true;
        break;
      }
      case "Execute": {
        const stmt = portalStatement(engine, message.portal);
        if (!stmt) break;
        if (isDdlx(stmt)) {
          gated = true;
          break;
        }
        const info = inspect(stmt);
        if (info.framework && engine.status === "I") {
          const version = frameworkVersion(engine, message.portal, info);
          if (version !== undefined) engine.sessionVersion = version;
        }
        if (endsWithSync && needsPlan(engine, stmt, info, true)) gated = true;
        break;
      }
    }
  }
  return gated ? { kind: "extended" } : { kind: "pass" };
}

function classifySimple(engine: Engine, parsed: SqlParse | undefined): UnitKind {
  if (!parsed) return { kind: "pass" };
  if (!parsed.ok) return parsed.serverCanAnswer ? { kind: "pass" } : { kind: "simple" };
  for (const stmt of parsed.statements) {
    if (needsPlan(engine, stmt, inspect(stmt), false)) return { kind: "simple" };
  }
  return { kind: "pass" };
}

function isDdlx(stmt: Statement | undefined): boolean {
  return stmt !== undefined && stmt.kind !== "sql";
}

function needsPlan(
  engine: Engine,
  stmt: Statement,
  info: StatementInfo,
  extended: boolean,
): boolean {
  if (stmt.kind !== "sql" || info.needsTx || info.electrify || isDoBlock(stmt)) return true;
  if (info.tx === "commit" && engine.txElectrified) return true;
  return extended && info.framework !== undefined && engine.txElectrified;
}

function statementOf(engine: Engine, name: string): Statement | undefined {
  return single(engine.statements.get(name)?.parsed);
}

function portalStatement(engine: Engine, portal: string): Statement | undefined {
  const bound = engine.portals.get(portal);
  return bound ? statementOf(engine, bound.statement) : undefined;
}

/** The version a framework's bookkeeping insert carries in its bound parameters (§3.8). */
function frameworkVersion(engine: Engine, portal: string, info: StatementInfo): string | undefined {
  const bound = engine.portals.get(portal);
  const fw = info.framework;
  if (!bound || !fw || fw.paramIndex === undefined) return undefined;
  const value = bound.params[fw.paramIndex];
  if (!value) return undefined;
  const format = bound.formats.length === 1 ? bound.formats[0] : bound.formats[fw.paramIndex] ?? 0;
  let text: string;
  if (format === 1 && (value.length === 8 || value.length === 4 || value.length === 2)) {
    const view = new DataView(value.buffer, value.byteOffset, value.length);
    text = value.length === 8
      ? view.getBigInt64(0).toString()
      : String(value.length === 4 ? view.getInt32(0) : view.getInt16(0));
  } else {
    text = new TextDecoder().decode(value);
  }
  return fw.framework === "prisma" ? text.split("_")[0] : text;
}

// ---------------------------------------------------------------------------------------
// Shared steps

function randomHex(engine: Engine): () => string {
  return () =>
    [...engine.options.randomBytes(6)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Which relations are electrified now, plus what this transaction added. */
function* lookup(engine: Engine, needed: boolean): Step<TableView> {
  const tables = new Map(engine.txTables);
  const indexes = new Map(engine.txIndexes);
  if (needed && engine.status !== "E") {
    const result = yield* internal(LOOKUP_ELECTRIFIED_SQL, { collect: true });
    if (result.ok) {
      for (const [schema, name, index] of result.rows) {
        const table = { schema: schema ?? "", name: name ?? "" };
        tables.set(tableKey(table), table);
        if (index) indexes.set(tableKey({ schema: table.schema, name: index }), table);
      }
    }
  }
  return viewOf(tables, indexes);
}

type TableView = ElectrifiedView & {
  tables: Map<string, QualifiedName>;
  indexes: Map<string, QualifiedName>;
};

function viewOf(
  tables: Map<string, QualifiedName>,
  indexes: Map<string, QualifiedName>,
): TableView {
  const view: TableView = {
    tables,
    indexes,
    isTable: (t) => t.schema !== "electric" && tables.has(tableKey(t)),
    indexTable: (i) => indexes.get(tableKey(i)),
  };
  return view;
}

/** The table a `CALL electric.electrify(…)` names, read from its string arguments. */
function electrifyTarget(stmt: Statement): QualifiedName | undefined {
  if (stmt.kind !== "sql") return undefined;
  const call = (stmt.ast.CallStmt as { funccall?: { args?: Record<string, unknown>[] } })?.funccall;
  const args = (call?.args ?? []).map((a) =>
    (a.A_Const as { sval?: { sval?: string } } | undefined)?.sval?.sval
  );
  if (args.length === 2 && args[0] !== undefined && args[1] !== undefined) {
    return { schema: args[0], name: args[1] };
  }
  if (args.length !== 1 || args[0] === undefined) return undefined;
  const parts = args[0].match(/"(?:[^"]|"")*"|[^.]+/g) ?? [];
  const names = parts.map((p) =>
    p.startsWith('"') ? p.slice(1, -1).replaceAll('""', '"') : p.toLowerCase()
  );
  if (names.length === 1) {
    return { schema: "public", name: args[0].includes('"') ? names[0] : args[0] };
  }
  return names.length === 2 ? { schema: names[0], name: names[1] } : undefined;
}

function markElectrified(engine: Engine, table?: QualifiedName): void {
  engine.txElectrified = true;
  if (table) engine.txTables.set(tableKey(table), table);
}

function* assignAtCommit(engine: Engine): Step<OpResult | undefined> {
  if (!engine.txElectrified || engine.txVersionAssigned) return undefined;
  const session = engine.sessionVersion;
  engine.sessionVersion = undefined;
  const version = session ?? generatedVersion(engine.options.now());
  const result = yield* internal(assignVersionSql(version, session ? 2 : 0, randomHex(engine)));
  engine.txVersionAssigned = true;
  return result;
}

/**
 * The open transaction's id, when it will commit a migration: once committed, the client's
 * answer waits until the service has learnt that migration (`awaitMigration`).
 */
function* migratingTxid(engine: Engine): Step<string | undefined> {
  if (!engine.txElectrified) return undefined;
  // Only captured DDL makes a migration (DDLX rules travel as rows, an idempotent electrify
  // captures nothing): no row, nothing to wait for.
  const result = yield* internal(MIGRATING_TXID_SQL, { collect: true });
  return result.ok ? result.rows[0]?.[0] ?? undefined : undefined;
}

const MIGRATING_TXID_SQL = "SELECT txid::text FROM electric.ddl_commands " +
  "WHERE txid = pg_catalog.pg_current_xact_id() LIMIT 1";

/**
 * Read your own migration: the COMMIT that captured a migration is answered only once the
 * service's schema catalog holds it (so `/api/migrations` serves it and a client bundling it
 * can connect at once). When that takes too long the client is told with a NOTICE and gets its
 * answer anyway: the migration is committed, only its arrival is late.
 */
function* awaitMigration(txid: string | undefined): Step<void> {
  if (txid === undefined) return;
  const known = yield { op: "await_migration", txid };
  if (known?.ok) return;
  yield* reply(encodeBackend({ type: "NoticeResponse", fields: migrationLateNotice() }));
}

/** Ends a failed plan: roll back an automatic transaction, show the error, ReadyForQuery. */
function* fail(engine: Engine, auto: boolean, shown: Uint8Array[]): Step<void> {
  if (auto && engine.status !== "I") yield* internal("ROLLBACK");
  yield* reply(...shown, readyBytes(auto ? "E" : engine.status));
}

function* runDdlx(engine: Engine, command: DdlxCommand): Step<OpResult | undefined> {
  for (const sql of ddlxStatements(command)) {
    const result = yield* internal(sql, { relayNotices: true });
    if (!result.ok) return result;
  }
  markElectrified(engine, command.kind === "enable" ? command.table : undefined);
  return undefined;
}

/** A DDLX or parse problem found before anything runs. */
function staticProblem(engine: Engine, stmt: Statement): ProxyError | undefined {
  if (stmt.kind === "ddlx_error") return ddlxSyntaxError(stmt.detail, stmt.sql);
  if (stmt.kind === "ddlx") {
    const feature = ddlxFeature(stmt.command);
    if (feature !== undefined && !engine.options.featureEnabled(feature)) {
      return ddlxUnsupported(ddlxTag(stmt.command), stmt.sql);
    }
  }
  if (isDoBlock(stmt)) return doBlockRefused(stmt.sql);
  return undefined;
}

/** Decisions for `statements` in order, with ENABLEs and new indexes seen by later ones. */
function decideAll(
  statements: Statement[],
  view: TableView,
  extended: boolean,
): Decision[] | { refused: ProxyError } {
  const sim = viewOf(new Map(view.tables), new Map(view.indexes));
  const decisions: Decision[] = [];
  for (const stmt of statements) {
    const decision = decide(stmt, sim, extended);
    if (decision.action === "refuse") return { refused: decision.error };
    decisions.push(decision);
    const enabled = stmt.kind === "ddlx" && stmt.command.kind === "enable"
      ? stmt.command.table
      : inspect(stmt).electrify
      ? electrifyTarget(stmt)
      : undefined;
    if (enabled) sim.tables.set(tableKey(enabled), enabled);
    if (decision.action === "capture" && stmt.kind === "sql" && "IndexStmt" in stmt.ast) {
      const name = (stmt.ast.IndexStmt as { idxname?: string }).idxname;
      if (name) sim.indexes.set(tableKey({ schema: decision.table.schema, name }), decision.table);
    }
  }
  return decisions;
}

/** After a captured statement ran: notice, capture, shadow columns, guard back on. */
function* captureAfter(
  engine: Engine,
  stmt: Statement,
  decision: Extract<Decision, { action: "capture" }>,
): Step<OpResult | undefined> {
  yield* reply(
    encodeBackend({ type: "NoticeResponse", fields: captureNotice(decision.table, stmt.sql) }),
  );
  const hex = randomHex(engine);
  const calls = [
    captureDdlSql(stmt.sql, hex),
    ...decision.addColumns.map((c) => alterShadowTableSql(decision.table, c, hex)),
    GUARD_ON_SQL,
  ];
  for (const sql of calls) {
    const result = yield* internal(sql);
    if (!result.ok) return result;
  }
  markElectrified(engine);
  if (stmt.kind === "sql" && "IndexStmt" in stmt.ast) {
    const name = (stmt.ast.IndexStmt as { idxname?: string }).idxname;
    if (name) {
      engine.txIndexes.set(tableKey({ schema: decision.table.schema, name }), decision.table);
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Simple protocol

export function* simplePlan(engine: Engine, unit: Unit): Plan {
  const item = unit.items[0];
  const sql = item.message.type === "Query" ? item.message.sql : "";
  const parsed = item.parsed!;
  if (!parsed.ok) {
    return yield* reply(
      errorBytes(syntaxError(parsed.message, sql, parsed.position)),
      readyBytes("E"),
    );
  }
  const statements = parsed.statements;
  for (const stmt of statements) {
    const problem = staticProblem(engine, stmt);
    if (problem) return yield* reply(errorBytes(problem), readyBytes("E"));
  }
  const infos = statements.map(inspect);
  const view = yield* lookup(engine, infos.some((i) => i.needsLookup));
  const decisions = decideAll(statements, view, false);
  if (!Array.isArray(decisions)) {
    return yield* reply(errorBytes({ ...decisions.refused, query: sql }), readyBytes("E"));
  }
  const auto = infos.some((i) => i.needsTx) && engine.status === "I" && infos[0].tx !== "begin";
  if (auto) {
    const begun = yield* internal("BEGIN");
    if (!begun.ok) return yield* fail(engine, false, [begun.errorRaw!]);
  }
  for (let i = 0; i < statements.length; i++) {
    const stmt = statements[i];
    const decision = decisions[i];
    if (stmt.kind === "ddlx") {
      const failed = yield* runDdlx(engine, stmt.command);
      if (failed) return yield* fail(engine, auto, [failed.errorRaw!]);
      yield* reply(encodeBackend({ type: "CommandComplete", tag: ddlxTag(stmt.command) }));
      continue;
    }
    let committing: string | undefined;
    if (infos[i].tx === "commit") {
      const assigned = yield* assignAtCommit(engine);
      if (assigned && !assigned.ok) return yield* fail(engine, auto, [assigned.errorRaw!]);
      committing = yield* migratingTxid(engine);
    }
    if (decision.action === "capture") {
      const off = yield* internal(GUARD_OFF_SQL);
      if (!off.ok) return yield* fail(engine, auto, [off.errorRaw!]);
      const ran = (yield { op: "send", bytes: query(stmt.sql), internal: false, hold: true })!;
      if (!ran.ok) return yield* fail(engine, auto, ran.held);
      const failed = yield* captureAfter(engine, stmt, decision);
      if (failed) return yield* fail(engine, auto, [...ran.held, failed.errorRaw!]);
      yield* reply(...ran.held);
      continue;
    }
    const ran = (yield { op: "send", bytes: query(stmt.sql), internal: false })!;
    if (!ran.ok) return yield* fail(engine, auto, []);
    if (infos[i].electrify) markElectrified(engine, electrifyTarget(stmt));
    if (committing !== undefined && engine.status === "I") {
      yield* awaitMigration(committing);
    }
  }
  if (auto) {
    const assigned = yield* assignAtCommit(engine);
    if (assigned && !assigned.ok) return yield* fail(engine, auto, [assigned.errorRaw!]);
    const committing = yield* migratingTxid(engine);
    const committed = yield* internal("COMMIT");
    if (!committed.ok) return yield* reply(committed.errorRaw!, readyBytes("I"));
    yield* awaitMigration(committing);
  }
  yield* reply(readyBytes(auto ? "I" : engine.status));
}

// ---------------------------------------------------------------------------------------
// Extended protocol

function endsWithSync(unit: Unit): boolean {
  return unit.items[unit.items.length - 1].message.type === "Sync";
}

/** Shows a proxy error in an extended unit: ReadyForQuery now, or after the client's Sync. */
function* extendedError(engine: Engine, unit: Unit, error: ProxyError): Step<void> {
  if (endsWithSync(unit)) return yield* reply(errorBytes(error), readyBytes("E"));
  engine.discardUntilSync = true;
  yield* reply(errorBytes(error));
}

export function* extendedPlan(engine: Engine, unit: Unit): Plan {
  const touchesDdlx = unit.items.some(({ message, parsed }) => {
    switch (message.type) {
      case "Parse":
        return isDdlx(single(parsed));
      case "Bind":
        return isDdlx(statementOf(engine, message.statement));
      case "Execute":
        return isDdlx(portalStatement(engine, message.portal));
      case "Describe":
      case "Close":
        return isDdlx(
          message.kind === "S"
            ? statementOf(engine, message.name)
            : portalStatement(engine, message.name),
        );
    }
    return false;
  });
  if (touchesDdlx) return yield* ddlxUnitPlan(engine, unit);

  for (const { message, parsed } of unit.items) {
    if (message.type === "Parse" && parsed && !parsed.ok) {
      return yield* extendedError(
        engine,
        unit,
        syntaxError(parsed.message, message.sql, parsed.position),
      );
    }
  }
  const executed: { stmt: Statement; info: StatementInfo; portal: string }[] = [];
  for (const { message } of unit.items) {
    if (message.type !== "Execute") continue;
    const stmt = portalStatement(engine, message.portal);
    if (stmt) executed.push({ stmt, info: inspect(stmt), portal: message.portal });
  }
  for (const { stmt } of executed) {
    const problem = staticProblem(engine, stmt);
    if (problem) return yield* extendedError(engine, unit, problem);
  }
  const view = yield* lookup(engine, executed.some((e) => e.info.needsLookup));
  const decisions = decideAll(executed.map((e) => e.stmt), view, true);
  if (!Array.isArray(decisions)) return yield* extendedError(engine, unit, decisions.refused);

  const auto = executed.some((e) => e.info.needsTx) && engine.status === "I";
  if (auto) {
    const begun = yield* internal("BEGIN");
    if (!begun.ok) return yield* fail(engine, false, [begun.errorRaw!]);
  }
  const captures = decisions.some((d) => d.action === "capture");
  if (captures) {
    const off = yield* internal(GUARD_OFF_SQL);
    if (!off.ok) return yield* fail(engine, auto, [off.errorRaw!]);
  }
  let committing: string | undefined;
  if (executed.some((e) => e.info.tx === "commit")) {
    const assigned = yield* assignAtCommit(engine);
    if (assigned && !assigned.ok) return yield* fail(engine, auto, [assigned.errorRaw!]);
    committing = yield* migratingTxid(engine);
  }
  const wasElectrified = engine.txElectrified;
  const ran = (yield {
    op: "send",
    bytes: concatBytes(unit.items.map((i) => i.frame.raw)),
    internal: false,
    hold: true,
  })!;
  if (!ran.ok) return yield* fail(engine, auto, ran.held);
  for (let i = 0; i < executed.length; i++) {
    const decision = decisions[i];
    const { stmt, info, portal } = executed[i];
    if (decision.action === "capture") {
      const failed = yield* captureAfter(engine, stmt, decision);
      if (failed) return yield* fail(engine, auto, [...ran.held, failed.errorRaw!]);
    }
    if (info.electrify) markElectrified(engine, electrifyTarget(stmt));
    if (info.framework && wasElectrified && engine.status === "T") {
      const version = frameworkVersion(engine, portal, info);
      if (version !== undefined) {
        const assigned = yield* internal(assignVersionSql(version, 4, randomHex(engine)));
        if (!assigned.ok) return yield* fail(engine, auto, [...ran.held, assigned.errorRaw!]);
        engine.txVersionAssigned = true;
      }
    }
  }
  if (committing !== undefined && engine.status === "I") yield* awaitMigration(committing);
  if (auto) {
    const assigned = yield* assignAtCommit(engine);
    if (assigned && !assigned.ok) {
      return yield* fail(engine, auto, [...ran.held, assigned.errorRaw!]);
    }
    const committing = yield* migratingTxid(engine);
    const committed = yield* internal("COMMIT");
    if (!committed.ok) return yield* reply(...ran.held, committed.errorRaw!, readyBytes("I"));
    yield* awaitMigration(committing);
  }
  yield* reply(...ran.held, readyBytes(auto ? "I" : engine.status));
}

/** A unit that touches a DDLX statement: every message is answered by the proxy. */
function* ddlxUnitPlan(engine: Engine, unit: Unit): Plan {
  let auto = false;
  for (const { message, parsed } of unit.items) {
    switch (message.type) {
      case "Parse": {
        const stmt = single(parsed);
        const problem = stmt ? staticProblem(engine, stmt) : undefined;
        if (problem) return yield* extendedError(engine, unit, problem);
        if (!isDdlx(stmt)) {
          return yield* extendedError(engine, unit, {
            code: "0A000",
            message: "ELECTRIC statements cannot share a Sync with other statements",
          });
        }
        yield* reply(encodeBackend({ type: "ParseComplete" }));
        break;
      }
      case "Bind":
        yield* reply(encodeBackend({ type: "BindComplete" }));
        break;
      case "Describe":
        if (message.kind === "S") {
          yield* reply(
            encodeBackend({ type: "ParameterDescription", types: [] }),
            encodeBackend({ type: "NoData" }),
          );
        } else yield* reply(encodeBackend({ type: "NoData" }));
        break;
      case "Close":
        if (message.kind === "S") engine.statements.delete(message.name);
        else engine.portals.delete(message.name);
        yield* reply(encodeBackend({ type: "CloseComplete" }));
        break;
      case "Execute": {
        const stmt = portalStatement(engine, message.portal);
        if (!stmt || stmt.kind !== "ddlx") {
          return yield* extendedError(engine, unit, {
            code: "0A000",
            message: "ELECTRIC statements cannot share a Sync with other statements",
          });
        }
        const problem = staticProblem(engine, stmt);
        if (problem) return yield* extendedError(engine, unit, problem);
        if (!auto && engine.status === "I") {
          const begun = yield* internal("BEGIN");
          if (!begun.ok) return yield* fail(engine, false, [begun.errorRaw!]);
          auto = true;
        }
        const failed = yield* runDdlx(engine, stmt.command);
        if (failed) return yield* fail(engine, auto, [failed.errorRaw!]);
        yield* reply(encodeBackend({ type: "CommandComplete", tag: ddlxTag(stmt.command) }));
        break;
      }
    }
  }
  if (auto) {
    const assigned = yield* assignAtCommit(engine);
    if (assigned && !assigned.ok) return yield* fail(engine, auto, [assigned.errorRaw!]);
    const committing = yield* migratingTxid(engine);
    const committed = yield* internal("COMMIT");
    if (!committed.ok) {
      return yield* reply(committed.errorRaw!, ...(endsWithSync(unit) ? [readyBytes("I")] : []));
    }
    yield* awaitMigration(committing);
  }
  if (endsWithSync(unit)) yield* reply(readyBytes(engine.status));
}
