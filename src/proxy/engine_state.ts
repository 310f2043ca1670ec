/**
 * The state of a proxy session's ready phase and the vocabulary its plans speak: what a plan
 * step asks for (`Op`), what it gets back (`OpResult`), and the few encoded answers both the
 * engine and the plans build. Apart from `engine.ts` (which drives plans) and `plans.ts`
 * (which writes them), so that each depends on this module and the engine on the plans, never
 * the other way round.
 */
import {
  encodeBackend,
  type Frame,
  type FrontendMessage,
  type NoticeFields,
  type TransactionStatus,
} from "../pgwire/mod.ts";
import type { QualifiedName } from "./ddlx.ts";
import { errorFields, type ProxyError } from "./errors.ts";
import type { Mode } from "./modes.ts";
import type { SqlParse } from "./parse_sql.ts";
import type { LogEntry, SessionOptions } from "./session_io.ts";

export interface OpResult {
  ok: boolean;
  status: TransactionStatus;
  error?: NoticeFields;
  errorRaw?: Uint8Array;
  rows: (string | null)[][];
  held: Uint8Array[];
}

/** One step of a plan: send something upstream and wait, or answer the client directly. */
export type Op =
  | {
    op: "send";
    bytes: Uint8Array;
    /** The proxy's own statement: responses are swallowed (notices too unless `relayNotices`). */
    internal: boolean;
    /** Keep the client-visible responses (and the error) for the plan to release later. */
    hold?: boolean;
    /** Decode DataRows as text into `rows`. */
    collect?: boolean;
    relayNotices?: boolean;
  }
  | { op: "reply"; bytes: Uint8Array[] }
  /**
   * Wait, sending nothing, until the service has learnt the migration of committed
   * transaction `txid` (or gave up waiting: `ok` false). The transport does the waiting.
   */
  | { op: "await_migration"; txid: string };

export type Plan = Generator<Op, void, OpResult | undefined>;

export type Expect =
  /** A forwarded Parse, Bind, Describe, Execute or Close, owed its one final message. */
  | { kind: "ext" }
  /** A forwarded Query or FunctionCall (`sync: false`) or Sync, owed a ReadyForQuery. */
  | { kind: "pass"; sync: boolean }
  | {
    kind: "op";
    internal: boolean;
    hold: boolean;
    collect: boolean;
    relayNotices: boolean;
    error?: NoticeFields;
    errorRaw?: Uint8Array;
    rows: (string | null)[][];
    held: Uint8Array[];
  };

export interface PreparedStatement {
  sql: string;
  parsed?: SqlParse;
}

export interface Portal {
  statement: string;
  params: (Uint8Array | null)[];
  formats: number[];
}

export interface Engine {
  options: SessionOptions;
  mode: Mode;
  status: TransactionStatus;
  /** The open transaction captured DDL or ran DDLX. */
  txElectrified: boolean;
  /** A version was assigned by the proxy in the open transaction. */
  txVersionAssigned: boolean;
  /** Tables electrified and indexes created on electrified tables in the open transaction. */
  txTables: Map<string, QualifiedName>;
  txIndexes: Map<string, QualifiedName>;
  /** A framework version seen outside a transaction, for the next electrified commit. */
  sessionVersion?: string;
  /** Client frames not yet handled, in arrival order. */
  pending: { frame: Frame; message: FrontendMessage; parsed?: SqlParse }[];
  expect: Expect[];
  plan?: Plan;
  statements: Map<string, PreparedStatement>;
  portals: Map<string, Portal>;
  /** After a proxy-generated error in an extended unit: drop messages until Sync. */
  discardUntilSync: boolean;
  /**
   * An extended message failed upstream, and Postgres discards everything up to the next Sync
   * (a Query or FunctionCall too, which then gets no ReadyForQuery).
   */
  upstreamSkipping: boolean;
  closed: boolean;
  logs: LogEntry[];
  /** Migrations committed since the last finished plan; moved to the output then. */
  captured?: number;
  /** The plan waits for the service to learn a committed migration (`await_migration`). */
  awaitingMigration?: boolean;
}

export function initialEngine(options: SessionOptions): Engine {
  return {
    options,
    mode: "electric",
    status: "I",
    txElectrified: false,
    txVersionAssigned: false,
    txTables: new Map(),
    txIndexes: new Map(),
    pending: [],
    expect: [],
    statements: new Map(),
    portals: new Map(),
    discardUntilSync: false,
    upstreamSkipping: false,
    closed: false,
    logs: [],
  };
}

export function tableKey(t: QualifiedName): string {
  return `${t.schema}\u0000${t.name}`;
}

export function errorBytes(error: ProxyError): Uint8Array {
  return encodeBackend({ type: "ErrorResponse", fields: errorFields(error) });
}

export function readyBytes(status: TransactionStatus): Uint8Array {
  return encodeBackend({ type: "ReadyForQuery", status });
}
