/**
 * One proxy connection as a state machine: `step(state, event) -> { state, out }`, where
 * events are what the client or the upstream Postgres sent (already cut into frames, SQL
 * already parsed by the transport) and `out` says what to write where. No I/O here.
 *
 * Phases, in the order a connection goes through them (proxy-http-auth-config.md §3.2–3.3):
 *   startup   SSLRequest/GSSENCRequest → `N`; CancelRequest → forwarded cancel, close;
 *             StartupMessage → password check (parameter) or MD5 challenge
 *   auth      PasswordMessage `md5…` checked against PG_PROXY_PASSWORD
 *   upstream  connect, StartupMessage, upstream auth (trust, MD5, SCRAM-SHA-256, cleartext);
 *             ParameterStatus, BackendKeyData, NoticeResponse and ReadyForQuery relayed
 *   ready     units of client messages run per `engine.ts`
 *
 * The ready phase lives in `engine.ts` (electric and transparent modes), `prisma/` and
 * `shadow.ts` (§3.4 modes, chosen in `modes.ts`); this file owns start-up and the dispatch.
 */
import {
  AUTH,
  type BackendMessage,
  DECLINE_ENCRYPTION,
  decodeBackend,
  encodeBackend,
  encodeFrontend,
  encodeStartup,
  type Frame,
  md5PasswordResponse,
  md5ResponseMatches,
  passwordMessage,
  PROTOCOL_3_0,
  saslInitialResponse,
  SCRAM_SHA_256,
  type ScramClient,
  scramClientFinal,
  scramClientFirst,
  scramVerifyServerFinal,
  type StartupPacket,
  type WireError,
} from "../pgwire/mod.ts";
import { onClientFrame, onMigrationKnown, onUpstreamFrame } from "./engine.ts";
import { type Engine, initialEngine } from "./engine_state.ts";
import { errorFields, passwordFailed, protocolViolation, type ProxyError } from "./errors.ts";
import { type Mode, modeLabel, selectMode, upstreamDatabase } from "./modes.ts";
import type { SqlParse } from "./parse_sql.ts";
import { initialPrisma, onPrismaFrame, type PrismaState } from "./prisma/mod.ts";
import { initialShadow, onShadowClient, onShadowUpstream, type ShadowState } from "./shadow.ts";
import type { LogEntry, Output, SessionOptions } from "./session_io.ts";

export type { Mode };
export type { LogEntry, Output, SessionOptions };

export type SessionEvent =
  | { type: "startup"; packet: StartupPacket }
  | { type: "client"; frame: Frame; parsed?: SqlParse }
  | { type: "client_malformed"; error: WireError }
  | { type: "upstream_connected" }
  /** The client did not log in within the authentication timeout. */
  | { type: "auth_timeout" }
  /** The frames of one upstream read, in order. */
  | { type: "upstream"; frames: Frame[] }
  | { type: "upstream_malformed"; error: WireError }
  | { type: "upstream_failed"; message: string }
  /** The wait `Output.awaitMigration` asked for ended (`known`: the migration arrived). */
  | { type: "migration_known"; known: boolean };

export type Phase = "startup" | "auth" | "upstream" | "ready" | "closed";

export interface SessionState {
  phase: Phase;
  options: SessionOptions;
  user: string;
  mode: Mode;
  /** The upstream database: DATABASE_URL's, or the client's own in shadow mode. */
  database: string;
  prisma?: PrismaState;
  shadow?: ShadowState;
  salt?: Uint8Array;
  scram?: { client: ScramClient; serverSignature?: string };
  /** Client frames that arrived before the upstream was ready. */
  early: { frame: Frame; parsed?: SqlParse }[];
  engine: Engine;
  /** Encryption requests already declined: each may come once, as libpq sends them. */
  declined: ("SSLRequest" | "GSSENCRequest")[];
}

export function initialSession(options: SessionOptions): SessionState {
  return {
    phase: "startup",
    options,
    user: "",
    mode: "electric",
    database: options.upstream.database,
    early: [],
    engine: initialEngine(options),
    declined: [],
  };
}

/** Whether the client has logged in to the proxy (what the authentication timeout waits for). */
export function loggedIn(state: SessionState): boolean {
  return state.phase === "upstream" || state.phase === "ready";
}

/** Whether the next client bytes are an untagged start-up packet. */
export function expectsStartupPacket(state: SessionState): boolean {
  return state.phase === "startup";
}

/** Whether the transport should parse this client frame's SQL before passing it in. */
export function wantsParsedSql(state: SessionState): boolean {
  return state.mode !== "transparent" && (state.phase === "upstream" || state.phase === "ready");
}

/** Whether every statement needs its syntax tree (no quick scan): Prisma mode reads SELECTs. */
export function wantsFullParse(state: SessionState): boolean {
  return state.mode === "prisma";
}

function emptyOutput(): Output {
  return { toClient: [], toUpstream: [], logs: [] };
}

export function errorMessage(error: ProxyError): Uint8Array {
  return encodeBackend({ type: "ErrorResponse", fields: errorFields(error) });
}

function fatal(state: SessionState, out: Output, error: ProxyError): void {
  out.toClient.push(errorMessage(error));
  out.close = true;
  state.phase = "closed";
}

export function step(
  state: SessionState,
  event: SessionEvent,
): { state: SessionState; out: Output } {
  const out = emptyOutput();
  if (state.phase === "closed") return { state, out };
  switch (event.type) {
    case "startup":
      onStartup(state, out, event.packet);
      break;
    case "auth_timeout":
      if (loggedIn(state)) break;
      out.logs.push({ level: "info", message: "Closed a connection that did not log in in time" });
      fatal(state, out, {
        code: "57014",
        severity: "FATAL",
        message: "canceling authentication due to timeout",
      });
      break;
    case "client":
      onClient(state, out, event.frame, event.parsed);
      break;
    case "client_malformed":
      out.logs.push({
        level: "warning",
        message: `Malformed client message: ${event.error.message}`,
      });
      fatal(
        state,
        out,
        state.phase === "auth"
          ? passwordFailed(state.user)
          : protocolViolation(event.error.message),
      );
      break;
    case "upstream_connected":
      out.toUpstream.push(encodeStartup({
        type: "StartupMessage",
        protocolVersion: PROTOCOL_3_0,
        parameters: {
          user: state.options.upstream.user,
          database: state.database,
          client_encoding: "UTF8",
          application_name: "electric",
        },
      }));
      break;
    case "upstream":
      for (const frame of event.frames) {
        if (state.phase === "upstream") onUpstreamStartup(state, out, frame);
        else if (state.phase === "ready") onReadyUpstream(state, out, frame);
        if (state.engine.closed) state.phase = "closed";
      }
      break;
    case "migration_known":
      if (state.phase === "ready") onMigrationKnown(state.engine, out, event.known);
      if (state.engine.closed) state.phase = "closed";
      break;
    case "upstream_malformed":
    case "upstream_failed": {
      const message = event.type === "upstream_failed" ? event.message : event.error.message;
      out.logs.push({ level: "warning", message: `Upstream connection ended: ${message}` });
      if (state.phase === "upstream") {
        fatal(state, out, {
          code: "08006",
          severity: "FATAL",
          message: `Upstream connection failed: ${message}`,
        });
      } else {
        out.close = true;
        state.phase = "closed";
      }
      break;
    }
  }
  return { state, out };
}

function onStartup(state: SessionState, out: Output, packet: StartupPacket): void {
  switch (packet.type) {
    case "SSLRequest":
    case "GSSENCRequest":
      if (state.declined.includes(packet.type)) {
        return fatal(state, out, protocolViolation(`${packet.type} sent twice`));
      }
      state.declined.push(packet.type);
      out.toClient.push(DECLINE_ENCRYPTION);
      return;
    case "CancelRequest":
      out.cancel = { processId: packet.processId, secretKey: packet.secretKey };
      out.close = true;
      state.phase = "closed";
      return;
    case "StartupMessage": {
      const user = packet.parameters.user;
      state.user = user ?? "";
      if (packet.protocolVersion !== PROTOCOL_3_0) {
        return fatal(state, out, {
          code: "0A000",
          severity: "FATAL",
          message: `Unsupported frontend protocol ${packet.protocolVersion >> 16}.${
            packet.protocolVersion & 0xffff
          }: the proxy supports 3.0`,
        });
      }
      if (user === undefined || user === "") return authFailed(state, out);
      state.mode = selectMode(packet.parameters);
      state.database = upstreamDatabase(
        state.mode,
        packet.parameters.database,
        state.options.upstream.database,
      );
      state.engine.mode = state.mode;
      const password = packet.parameters.password;
      if (password !== undefined) {
        return password === state.options.password
          ? authenticated(state, out)
          : authFailed(state, out);
      }
      state.salt = state.options.randomBytes(4);
      state.phase = "auth";
      out.toClient.push(
        encodeBackend({ type: "Authentication", code: AUTH.MD5Password, data: state.salt }),
      );
      return;
    }
  }
}

function authFailed(state: SessionState, out: Output): void {
  out.logs.push({
    level: "warning",
    message: `Password authentication for user '${state.user}' failed`,
  });
  fatal(state, out, passwordFailed(state.user));
}

function authenticated(state: SessionState, out: Output): void {
  out.toClient.push(
    encodeBackend({ type: "Authentication", code: AUTH.Ok, data: new Uint8Array() }),
  );
  out.logs.push({
    level: "info",
    message: `Initialising injector in ${modeLabel(state.mode)} mode`,
  });
  state.phase = "upstream";
  out.connectUpstream = true;
}

function onClient(state: SessionState, out: Output, frame: Frame, parsed?: SqlParse): void {
  switch (state.phase) {
    case "startup":
      return; // unreachable: the transport reads a start-up packet in this phase
    case "auth": {
      if (frame.tag !== 0x70) return authFailed(state, out); // 'p' PasswordMessage expected
      const body = frame.body;
      const nul = body.indexOf(0);
      const text = new TextDecoder().decode(body.subarray(0, nul < 0 ? body.length : nul));
      const ok = nul === body.length - 1 &&
        md5ResponseMatches(text, {
          user: state.user,
          password: state.options.password,
          salt: state.salt!,
        });
      return ok ? authenticated(state, out) : authFailed(state, out);
    }
    case "upstream":
      if (frame.tag === 0x58) { // 'X' Terminate
        out.close = true;
        state.phase = "closed";
        return;
      }
      state.early.push({ frame, parsed });
      return;
    case "ready":
      return onReadyClient(state, out, frame, parsed);
  }
}

/** A client frame in the ready phase, to the module of the connection's mode. */
function onReadyClient(state: SessionState, out: Output, frame: Frame, parsed?: SqlParse): void {
  switch (state.mode) {
    case "prisma":
      state.prisma ??= initialPrisma();
      onPrismaFrame(state.prisma, out, frame, {
        parsed,
        context: { schema: state.options.schema },
      });
      break;
    case "shadow":
      onShadowClient(state.shadow ??= initialShadow(), out, frame, parsed);
      break;
    default:
      onClientFrame(state.engine, out, frame, parsed);
      if (state.engine.closed) state.phase = "closed";
  }
  if (out.close) state.phase = "closed";
}

/** An upstream frame in the ready phase (Prisma mode sends nothing, so expects nothing). */
function onReadyUpstream(state: SessionState, out: Output, frame: Frame): void {
  if (state.mode === "prisma") return;
  if (state.mode === "shadow") {
    return onShadowUpstream(state.shadow ??= initialShadow(), out, frame);
  }
  onUpstreamFrame(state.engine, out, frame);
}

function unsupportedAuth(state: SessionState, out: Output, what: string): void {
  out.logs.push({
    level: "error",
    message: `Proxy's upstream connection requested unsupported authentication method: ${what}`,
  });
  fatal(state, out, {
    code: "28000",
    severity: "FATAL",
    message: `The proxy cannot authenticate to Postgres: unsupported authentication method ${what}`,
  });
}

function onUpstreamStartup(state: SessionState, out: Output, frame: Frame): void {
  const decoded = decodeBackend(frame);
  if (!decoded.ok) {
    return fatal(state, out, { code: "08P01", severity: "FATAL", message: decoded.error.message });
  }
  const message: BackendMessage = decoded.message;
  const { upstream } = state.options;
  switch (message.type) {
    case "Authentication":
      switch (message.code) {
        case AUTH.Ok:
          out.logs.push({
            level: "debug",
            message: "Upstream connection is ready to accept queries",
          });
          return;
        case AUTH.CleartextPassword:
          out.toUpstream.push(passwordMessage(upstream.password));
          return;
        case AUTH.MD5Password:
          out.toUpstream.push(
            passwordMessage(md5PasswordResponse(upstream.user, upstream.password, message.data)),
          );
          return;
        case AUTH.SASL: {
          const mechanisms = new TextDecoder().decode(message.data).split("\0").filter((m) => m);
          if (!mechanisms.includes(SCRAM_SHA_256)) {
            return unsupportedAuth(state, out, `SASL ${mechanisms.join(", ")}`);
          }
          const nonce = btoa(String.fromCharCode(...state.options.randomBytes(18)));
          const first = scramClientFirst(upstream.password, nonce);
          state.scram = { client: first.state };
          out.toUpstream.push(saslInitialResponse(SCRAM_SHA_256, first.message));
          return;
        }
        case AUTH.SASLContinue: {
          if (!state.scram) return unsupportedAuth(state, out, "SASL continue without SASL");
          const final = scramClientFinal(state.scram.client, message.data);
          if (!final.ok) {
            return fatal(state, out, { code: "28000", severity: "FATAL", message: final.message });
          }
          state.scram.serverSignature = final.value.serverSignature;
          out.toUpstream.push(
            encodeFrontend({ type: "PasswordMessage", data: final.value.message }),
          );
          return;
        }
        case AUTH.SASLFinal:
          if (
            !state.scram?.serverSignature ||
            !scramVerifyServerFinal(message.data, state.scram.serverSignature)
          ) {
            return fatal(state, out, {
              code: "28000",
              severity: "FATAL",
              message: "Postgres sent an invalid SCRAM server signature",
            });
          }
          return;
        default:
          return unsupportedAuth(state, out, `code ${message.code}`);
      }
    case "ErrorResponse":
      out.toClient.push(frame.raw);
      out.close = true;
      state.phase = "closed";
      return;
    case "BackendKeyData":
    case "ParameterStatus":
    case "NoticeResponse":
      out.toClient.push(frame.raw);
      return;
    case "ReadyForQuery": {
      out.toClient.push(frame.raw);
      state.phase = "ready";
      state.engine.status = message.status;
      const early = state.early;
      state.early = [];
      for (const item of early) {
        onReadyClient(state, out, item.frame, item.parsed);
        if (!loggedIn(state)) return; // the frame closed the session
      }
      return;
    }
    default:
      out.toClient.push(frame.raw);
  }
}
