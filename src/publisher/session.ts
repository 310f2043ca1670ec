/**
 * One subscriber connection as a state machine: `step(state, input) -> { state, out }`.
 * No I/O: the transport feeds decoded frontend messages, timer ticks and the transactions
 * the publisher hands over, and carries out the effects (send, close, attach to the stream).
 *
 * Flow, in the order a subscriber drives it (postgres-side.md §8.7):
 *   [SSLRequest/GSSENCRequest → `N`] StartupMessage (replication=database,
 *   application_name=<origin>) → AuthenticationMD5Password → PasswordMessage (the secret of
 *   the service's subscription) → AuthenticationOk, ParameterStatus…, BackendKeyData,
 *   ReadyForQuery; simple queries (search path, publication tables, IDENTIFY_SYSTEM, …);
 *   START_REPLICATION → CopyBothResponse, then XLogData/keepalives inside CopyData until
 *   CopyDone or Terminate. CancelRequest instead of a StartupMessage cancels another session.
 */
import {
  AUTH,
  type BackendMessage,
  dateToPgTimestamp,
  decodeReplicationMessage,
  encodeReplicationMessage,
  errorResponse,
  type FrontendMessage,
  md5ResponseMatches,
  passwordText,
  type StartupPacket,
  type WireError,
} from "../pgwire/mod.ts";
import { findPublishedTable, type PublishedTable } from "./catalog.ts";
import {
  attributesAnswer,
  classifyQuery,
  identifySystemAnswer,
  publicationTablesAnswer,
  relationInfoAnswer,
  setSearchPathAnswer,
} from "./queries.ts";
import { encodeTransaction, type SentTransaction } from "./stream.ts";

export interface SessionEnv {
  /** Reported as `server_version`; must not start with a digit (see queries.ts). */
  readonly serverVersion: string;
  /** IDENTIFY_SYSTEM's `systemid`: stable for the service instance. */
  readonly systemId: string;
  readonly processId: number;
  readonly secretKey: number;
  /** Whether `name` is a known origin whose schema is loaded. */
  originReady(name: string): boolean;
  /**
   * The password subscribers must prove (MD5) before anything else: the secret in the
   * connection string of the subscription the service created. Undefined: not known yet, and
   * nobody is let in.
   */
  password(): string | undefined;
  /** Four random bytes for an MD5 challenge. */
  salt(): Uint8Array;
  /** The published tables right now. */
  tables(): readonly PublishedTable[];
}

export type SessionPhase = "startup" | "auth" | "ready" | "streaming" | "closed";

export interface SessionState {
  readonly env: SessionEnv;
  readonly phase: SessionPhase;
  /** From the StartupMessage. */
  readonly database: string;
  readonly applicationName: string;
  /** The stream position keepalives report. */
  readonly position: bigint;
  /** Relations described on this connection: OID → signature. */
  readonly described: ReadonlyMap<number, string>;
  /** While authenticating: the user named at start-up, the challenge, what follows success. */
  readonly pending?: { user: string; salt: Uint8Array; accepted: SessionEffect[] };
}

/** What a subscriber sends: an untagged start-up packet first, tagged messages after. */
export type SubscriberMessage = StartupPacket | FrontendMessage;

export type SessionInput =
  | { tag: "frontend"; message: SubscriberMessage; now: Date }
  /** The codec could not make sense of the input; the connection cannot continue. */
  | { tag: "decode_error"; error: WireError }
  /** The publisher accepted START_REPLICATION; streaming continues from `position`. */
  | { tag: "attached"; position: bigint; now: Date }
  /** Transactions to stream, with their LSNs. */
  | { tag: "transactions"; transactions: readonly SentTransaction[]; now: Date }
  /** Keepalive timer. */
  | { tag: "tick"; now: Date }
  /** A newer connection took over the stream. */
  | { tag: "superseded" }
  /** The connection has not proved the secret in time. */
  | { tag: "login_timeout" };

export type SessionEffect =
  | { tag: "send"; message: BackendMessage }
  /** The one-byte `N` that declines SSL or GSS encryption (not a tagged message). */
  | { tag: "decline_encryption" }
  | { tag: "close" }
  | { tag: "start_replication"; slot: string; startLsn: bigint; options: Record<string, string> }
  | { tag: "stop_replication" }
  | { tag: "cancel"; processId: number; secretKey: number }
  /** The subscriber reports everything up to `flushed` applied and durable. */
  | { tag: "confirmed"; flushed: bigint }
  /** A transaction that could not be described (unknown table or column) and was skipped. */
  | { tag: "skipped"; transaction: SentTransaction; message: string };

export interface SessionStep {
  state: SessionState;
  out: SessionEffect[];
}

export const MESSAGES = {
  replicationRequired:
    "Electric requires connections from Postgres to include the `replication=database` option",
  notReady: (name: string) => `Electric replication is not ready, missing schema for ${name}`,
  unexpected: "Unexpected message during connection",
  noSnapshots: "Electric replication does not support snapshot exporting",
  superseded: "Another connection started streaming from this publisher",
  noPassword: "Electric replication is not ready: the subscription's password is not set yet",
  passwordFailed: (user: string) => `password authentication failed for user "${user}"`,
  loginTimeout: "canceling authentication due to timeout",
} as const;

export function initialSession(env: SessionEnv): SessionState {
  return {
    env,
    phase: "startup",
    database: "",
    applicationName: "",
    position: 0n,
    described: new Map(),
  };
}

const send = (message: BackendMessage): SessionEffect => ({ tag: "send", message });
const ready: SessionEffect = send({ type: "ReadyForQuery", status: "I" });
const command = (tag: string): BackendMessage => ({ type: "CommandComplete", tag });

function fatal(state: SessionState, code: string, message: string): SessionStep {
  const out: SessionEffect[] = [send(errorResponse("FATAL", code, message)), { tag: "close" }];
  if (state.phase === "streaming") out.unshift({ tag: "stop_replication" });
  return { state: { ...state, phase: "closed" }, out };
}

function keepalive(state: SessionState, now: Date, replyRequested = false): SessionEffect {
  const data = encodeReplicationMessage({
    tag: "primary_keepalive",
    walEnd: state.position,
    serverTime: dateToPgTimestamp(now),
    replyRequested,
  });
  return send({ type: "CopyData", data });
}

export function step(state: SessionState, input: SessionInput): SessionStep {
  if (state.phase === "closed") return { state, out: [] };
  switch (input.tag) {
    case "decode_error":
      return fatal(state, "08P01", `Invalid message: ${input.error.message}`);
    case "superseded":
      return fatal(state, "55006", MESSAGES.superseded);
    case "login_timeout":
      return state.phase === "startup" || state.phase === "auth"
        ? fatal(state, "57014", MESSAGES.loginTimeout)
        : { state, out: [] };
    case "tick":
      return state.phase === "streaming"
        ? { state, out: [keepalive(state, input.now)] }
        : { state, out: [] };
    case "attached": {
      if (state.phase !== "streaming") return { state, out: [] };
      const next = { ...state, position: input.position };
      return { state: next, out: [keepalive(next, input.now)] };
    }
    case "transactions":
      return state.phase === "streaming"
        ? streamTransactions(state, input.transactions, input.now)
        : { state, out: [] };
    case "frontend":
      switch (state.phase) {
        case "startup":
          return onStartup(state, input.message);
        case "auth":
          return onPassword(state, input.message);
        case "ready":
          return onReady(state, input.message);
        case "streaming":
          return onStreaming(state, input.message, input.now);
      }
  }
}

function onStartup(state: SessionState, message: SubscriberMessage): SessionStep {
  switch (message.type) {
    case "SSLRequest":
    case "GSSENCRequest":
      return { state, out: [{ tag: "decline_encryption" }] };
    case "CancelRequest":
      return {
        state: { ...state, phase: "closed" },
        out: [
          { tag: "cancel", processId: message.processId, secretKey: message.secretKey },
          { tag: "close" },
        ],
      };
    case "StartupMessage": {
      const params = message.parameters;
      if (params.replication !== "database") {
        return fatal(state, "08004", MESSAGES.replicationRequired);
      }
      const applicationName = params.application_name ?? "";
      if (!state.env.originReady(applicationName)) {
        return fatal(state, "08004", MESSAGES.notReady(applicationName));
      }
      const parameters: Array<[string, string]> = [
        ["application_name", applicationName],
        ["client_encoding", params.client_encoding ?? "UTF8"],
        ["server_encoding", "UTF8"],
        ["server_version", state.env.serverVersion],
        ["standard_conforming_strings", "on"],
        ["TimeZone", "Etc/UTC"],
      ];
      if (state.env.password() === undefined) return fatal(state, "08004", MESSAGES.noPassword);
      const salt = state.env.salt();
      return {
        state: {
          ...state,
          phase: "auth",
          database: params.database ?? params.user ?? "",
          applicationName,
          pending: {
            user: params.user ?? "",
            salt,
            accepted: [
              send({ type: "Authentication", code: AUTH.Ok, data: new Uint8Array() }),
              ...parameters.map(([name, value]) => send({ type: "ParameterStatus", name, value })),
              send({
                type: "BackendKeyData",
                processId: state.env.processId,
                secretKey: state.env.secretKey,
              }),
              ready,
            ],
          },
        },
        out: [send({ type: "Authentication", code: AUTH.MD5Password, data: salt })],
      };
    }
    default:
      return fatal(state, "08P01", MESSAGES.unexpected);
  }
}

/**
 * The subscriber's answer to the MD5 challenge. Until it is right the connection can do
 * nothing else: in particular it cannot start replication, so it cannot take the stream from
 * the subscription that holds it.
 */
function onPassword(state: SessionState, message: SubscriberMessage): SessionStep {
  const pending = state.pending!;
  const password = state.env.password();
  if (message.type !== "PasswordMessage") return fatal(state, "08P01", MESSAGES.unexpected);
  const answer = passwordText(message.data);
  if (!answer.ok) return fatal(state, "08P01", `Invalid message: ${answer.error.message}`);
  if (
    password === undefined ||
    !md5ResponseMatches(answer.message, { user: pending.user, password, salt: pending.salt })
  ) {
    return fatal(state, "28P01", MESSAGES.passwordFailed(pending.user));
  }
  return { state: { ...state, phase: "ready", pending: undefined }, out: pending.accepted };
}

function answer(state: SessionState, messages: BackendMessage[]): SessionStep {
  return { state, out: [...messages.map(send), ready] };
}

function onReady(state: SessionState, message: SubscriberMessage): SessionStep {
  if (message.type === "Terminate") {
    return { state: { ...state, phase: "closed" }, out: [{ tag: "close" }] };
  }
  if (message.type !== "Query") return fatal(state, "08P01", MESSAGES.unexpected);
  const query = classifyQuery(message.sql);
  const tables = () => state.env.tables();
  switch (query.tag) {
    case "set_search_path":
      return answer(state, setSearchPathAnswer());
    case "publication_tables":
      return answer(state, publicationTablesAnswer(tables()));
    case "relation_info":
      return answer(
        state,
        relationInfoAnswer(findPublishedTable(tables(), query.schema, query.table)),
      );
    case "attributes":
      return answer(state, attributesAnswer(tables().find((t) => t.oid === query.relationOid)));
    case "identify_system":
      return answer(state, identifySystemAnswer(state.env.systemId, state.database));
    case "begin":
      return answer(state, [command("BEGIN")]);
    case "commit":
      return answer(state, [command("COMMIT")]);
    case "drop_replication_slot":
      return answer(state, [command("DROP_REPLICATION_SLOT")]);
    case "create_replication_slot":
      return answer(state, [errorResponse("ERROR", "0A000", MESSAGES.noSnapshots)]);
    case "start_replication":
      return {
        state: { ...state, phase: "streaming" },
        out: [
          send({ type: "CopyBothResponse", format: 0, columnFormats: [] }),
          {
            tag: "start_replication",
            slot: query.slot,
            startLsn: query.startLsn,
            options: query.options,
          },
        ],
      };
    case "unknown":
      return fatal(state, "08P01", MESSAGES.unexpected);
  }
}

function onStreaming(state: SessionState, message: SubscriberMessage, now: Date): SessionStep {
  switch (message.type) {
    case "CopyData": {
      const decoded = decodeReplicationMessage(message.data);
      if (!decoded.ok || decoded.message.tag !== "standby_status_update") {
        return { state, out: [] }; // hot standby feedback and the like: nothing to do
      }
      const update = decoded.message;
      const out: SessionEffect[] = [{ tag: "confirmed", flushed: update.flushed }];
      if (update.replyRequested) out.push(keepalive(state, now));
      return { state, out };
    }
    case "CopyDone":
      return {
        state: { ...state, phase: "ready" },
        out: [
          { tag: "stop_replication" },
          send({ type: "CopyDone" }),
          send(command("COPY 0")),
          send(command("START_REPLICATION")),
          ready,
        ],
      };
    case "Terminate":
      return {
        state: { ...state, phase: "closed" },
        out: [{ tag: "stop_replication" }, { tag: "close" }],
      };
    default:
      return fatal(state, "08P01", MESSAGES.unexpected);
  }
}

function streamTransactions(
  state: SessionState,
  transactions: readonly SentTransaction[],
  now: Date,
): SessionStep {
  const out: SessionEffect[] = [];
  let { described, position } = state;
  const sendTime = dateToPgTimestamp(now);
  const tables = state.env.tables();
  for (const sent of transactions) {
    const encoded = encodeTransaction(sent, { tables, described, now: sendTime });
    if (!encoded.ok) {
      out.push({ tag: "skipped", transaction: sent, message: encoded.error.message });
      continue;
    }
    for (const data of encoded.payloads) out.push(send({ type: "CopyData", data }));
    described = encoded.described;
    if (sent.endLsn > position) position = sent.endLsn;
  }
  const next = { ...state, described, position };
  // Asking for a reply makes the subscriber confirm what it applied right away rather than at
  // its status interval (10 s by default): a client's write settles as soon as it is applied.
  if (position > state.position) out.push(keepalive(next, now, true));
  return { state: next, out };
}
