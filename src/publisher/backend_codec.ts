/**
 * The Postgres frontend/backend protocol 3.0, the part a logical replication *publisher*
 * needs: decoding what a subscriber sends (startup packets, Query, Terminate, CopyData,
 * CopyDone) and encoding what the backend answers. Pure codec: bytes in, typed messages out
 * and back, no I/O and no state. Both directions encode and decode, so the tests (and a test
 * client) can round-trip every message byte for byte.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 *
 * Framing: the first packet of a connection is untagged (Int32 length including itself, Int32
 * request code, body); every later message is a tag byte, an Int32 length including itself
 * but not the tag, and the body. Request codes and the framing of tagged messages are
 * pgwire's (shared with the migrations proxy); the message set here is the publisher's own,
 * stricter about startup packets (no trailing bytes) and encoding both directions for tests.
 */
import {
  ByteReader,
  ByteWriter,
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  MAX_STARTUP_LENGTH,
  PROTOCOL_3_0,
  readFrame,
  SSL_REQUEST_CODE,
  type WireError,
} from "../pgwire/mod.ts";

export { PROTOCOL_3_0 };

/** Largest tagged message accepted from a subscriber; everything it sends is small. */
export const MAX_MESSAGE_LENGTH = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Frontend (subscriber → publisher)

export type FrontendMessage =
  | { tag: "ssl_request" }
  | { tag: "gssenc_request" }
  | { tag: "cancel_request"; processId: number; secretKey: number }
  | { tag: "startup_message"; protocolVersion: number; parameters: Record<string, string> }
  | { tag: "query"; sql: string }
  | { tag: "terminate" }
  | { tag: "copy_data"; data: Uint8Array }
  | { tag: "copy_done" }
  | { tag: "copy_fail"; message: string }
  /** PasswordMessage: the answer to an authentication request (here `md5…`). */
  | { tag: "password"; password: string }
  /** A well-framed message of a kind the publisher does not handle (Parse, Sync, …). */
  | { tag: "other"; type: string; body: Uint8Array };

export type CodecError = WireError;

/**
 * One decoding attempt on buffered input: a whole message and how many bytes it used, a
 * request for more input, or an error (the connection cannot be resynchronised after it).
 */
export type DecodeStep<M> =
  | { kind: "message"; message: M; consumed: number }
  | { kind: "incomplete" }
  | { kind: "error"; error: CodecError };

function malformed(message: string): { kind: "error"; error: CodecError } {
  return { kind: "error", error: { code: "MALFORMED_MESSAGE", message } };
}

/** Decodes the untagged first packet (or a packet after an `N` answer to SSL/GSS requests). */
export function decodeStartupPacket(bytes: Uint8Array): DecodeStep<FrontendMessage> {
  if (bytes.length < 4) return { kind: "incomplete" };
  const length = new ByteReader(bytes).i32();
  if (length < 8) return malformed(`Invalid startup packet length ${length}`);
  if (length > MAX_STARTUP_LENGTH) {
    return {
      kind: "error",
      error: { code: "MESSAGE_TOO_LONG", message: `Startup packet too long: ${length} bytes` },
    };
  }
  if (bytes.length < length) return { kind: "incomplete" };
  const r = new ByteReader(bytes.subarray(0, length), 4);
  try {
    const code = r.i32();
    const message = startupBody(code, r);
    if (message === undefined) return malformed("Invalid startup packet layout");
    return { kind: "message", message, consumed: length };
  } catch (error) {
    return malformed(`Invalid startup packet: ${(error as Error).message}`);
  }
}

function startupBody(code: number, r: ByteReader): FrontendMessage | undefined {
  switch (code) {
    case SSL_REQUEST_CODE:
      return r.remaining === 0 ? { tag: "ssl_request" } : undefined;
    case GSSENC_REQUEST_CODE:
      return r.remaining === 0 ? { tag: "gssenc_request" } : undefined;
    case CANCEL_REQUEST_CODE: {
      const message = { tag: "cancel_request" as const, processId: r.i32(), secretKey: r.i32() };
      return r.remaining === 0 ? message : undefined;
    }
  }
  const parameters: Record<string, string> = {};
  for (;;) {
    const name = r.cstring();
    if (name === "") break;
    parameters[name] = r.cstring();
  }
  if (r.remaining !== 0) return undefined;
  return { tag: "startup_message", protocolVersion: code, parameters };
}

/** Decodes one tagged frontend message from the start of `bytes`. */
export function decodeFrontendMessage(bytes: Uint8Array): DecodeStep<FrontendMessage> {
  const frame = tagged(bytes);
  if (frame.kind !== "message") return frame;
  const { type, body } = frame.message;
  const r = new ByteReader(body);
  try {
    let message: FrontendMessage;
    switch (type) {
      case 0x51: // 'Q' Query
        message = { tag: "query", sql: r.cstring() };
        break;
      case 0x58: // 'X' Terminate
        message = { tag: "terminate" };
        break;
      case 0x64: // 'd' CopyData
        message = { tag: "copy_data", data: r.rest().slice() };
        break;
      case 0x63: // 'c' CopyDone
        message = { tag: "copy_done" };
        break;
      case 0x66: // 'f' CopyFail
        message = { tag: "copy_fail", message: r.cstring() };
        break;
      case 0x70: // 'p' PasswordMessage
        message = { tag: "password", password: r.cstring() };
        break;
      default:
        message = { tag: "other", type: String.fromCharCode(type), body: r.rest().slice() };
    }
    if (r.remaining !== 0) {
      return malformed(`${r.remaining} bytes left over in "${String.fromCharCode(type)}"`);
    }
    return { kind: "message", message, consumed: frame.consumed };
  } catch (error) {
    return malformed(`Malformed "${String.fromCharCode(type)}": ${(error as Error).message}`);
  }
}

/** Splits off one tagged frame (the protocol proxy's framing): tag byte, Int32 length, body. */
function tagged(bytes: Uint8Array): DecodeStep<{ type: number; body: Uint8Array }> {
  const step = readFrame(bytes, 0, MAX_MESSAGE_LENGTH);
  if (step.kind !== "frame") return step;
  return {
    kind: "message",
    message: { type: step.frame.tag, body: step.frame.body },
    consumed: step.consumed,
  };
}

/** Encodes a frontend message (test clients; the publisher itself only decodes these). */
export function encodeFrontendMessage(message: FrontendMessage): Uint8Array {
  const w = new ByteWriter();
  switch (message.tag) {
    case "ssl_request":
      return w.i32(8).i32(SSL_REQUEST_CODE).finish();
    case "gssenc_request":
      return w.i32(8).i32(GSSENC_REQUEST_CODE).finish();
    case "cancel_request":
      return w.i32(16).i32(CANCEL_REQUEST_CODE).i32(message.processId).i32(message.secretKey)
        .finish();
    case "startup_message": {
      const body = new ByteWriter().i32(message.protocolVersion);
      for (const [name, value] of Object.entries(message.parameters)) {
        body.cstring(name).cstring(value);
      }
      const bytes = body.u8(0).finish();
      return w.i32(bytes.length + 4).raw(bytes).finish();
    }
    case "query":
      return frame(0x51, new ByteWriter().cstring(message.sql).finish()); // 'Q'
    case "terminate":
      return frame(0x58, new Uint8Array()); // 'X'
    case "copy_data":
      return frame(0x64, message.data); // 'd'
    case "copy_done":
      return frame(0x63, new Uint8Array()); // 'c'
    case "copy_fail":
      return frame(0x66, new ByteWriter().cstring(message.message).finish()); // 'f'
    case "password":
      return frame(0x70, new ByteWriter().cstring(message.password).finish()); // 'p'
    case "other":
      return frame(message.type.charCodeAt(0), message.body);
  }
}

function frame(type: number, body: Uint8Array): Uint8Array {
  return new ByteWriter(body.length + 5).u8(type).i32(body.length + 4).raw(body).finish();
}

// ---------------------------------------------------------------------------------------
// Backend (publisher → subscriber)

/** One column of a RowDescription; the publisher's answers are all text format. */
export interface FieldDescription {
  name: string;
  /** OID of the table the column comes from, 0 when none. */
  tableOid: number;
  columnNumber: number;
  typeOid: number;
  /** pg_type.typlen: -1 varlena, -2 cstring. */
  typeSize: number;
  typeModifier: number;
  /** 0 text, 1 binary. */
  format: number;
}

/** The fields of an ErrorResponse the publisher sends (S/V severity, C code, M message). */
export interface ErrorFields {
  severity: "ERROR" | "FATAL";
  /** SQLSTATE. */
  code: string;
  message: string;
}

export type BackendMessage =
  /** The single byte answering SSLRequest / GSSENCRequest: `N` refused (`S`/`G` accepted). */
  | { tag: "encryption_response"; accepted: false }
  | { tag: "authentication_ok" }
  /** AuthenticationMD5Password: answer `md5` + md5(md5(password + user) + salt). */
  | { tag: "authentication_md5"; salt: Uint8Array }
  | { tag: "parameter_status"; name: string; value: string }
  | { tag: "backend_key_data"; processId: number; secretKey: number }
  /** `I` idle, `T` in a transaction block, `E` in a failed one. */
  | { tag: "ready_for_query"; status: "I" | "T" | "E" }
  | { tag: "row_description"; fields: FieldDescription[] }
  | { tag: "data_row"; values: (string | null)[] }
  | { tag: "command_complete"; command: string }
  | { tag: "error_response"; fields: ErrorFields }
  /** Overall format 0 (text), zero columns: what a walsender sends for START_REPLICATION. */
  | { tag: "copy_both_response"; format: number; columnFormats: number[] }
  | { tag: "copy_data"; data: Uint8Array }
  | { tag: "copy_done" };

export function encodeBackendMessage(message: BackendMessage): Uint8Array {
  switch (message.tag) {
    case "encryption_response":
      return Uint8Array.of(0x4e); // 'N'
    case "authentication_ok":
      return frame(0x52, new ByteWriter(4).i32(0).finish()); // 'R'
    case "authentication_md5":
      return frame(0x52, new ByteWriter(8).i32(5).raw(message.salt).finish()); // 'R'
    case "parameter_status": // 'S'
      return frame(0x53, new ByteWriter().cstring(message.name).cstring(message.value).finish());
    case "backend_key_data": // 'K'
      return frame(0x4b, new ByteWriter(8).i32(message.processId).i32(message.secretKey).finish());
    case "ready_for_query": // 'Z'
      return frame(0x5a, Uint8Array.of(message.status.charCodeAt(0)));
    case "row_description": { // 'T'
      const w = new ByteWriter().i16(message.fields.length);
      for (const f of message.fields) {
        w.cstring(f.name).i32(f.tableOid).i16(f.columnNumber).i32(f.typeOid).i16(f.typeSize)
          .i32(f.typeModifier).i16(f.format);
      }
      return frame(0x54, w.finish());
    }
    case "data_row": { // 'D'
      const w = new ByteWriter().i16(message.values.length);
      for (const value of message.values) {
        if (value === null) w.i32(-1);
        else w.sizedUtf8(value);
      }
      return frame(0x44, w.finish());
    }
    case "command_complete": // 'C'
      return frame(0x43, new ByteWriter().cstring(message.command).finish());
    case "error_response": { // 'E'
      const { severity, code, message: text } = message.fields;
      const w = new ByteWriter();
      w.u8(0x53).cstring(severity).u8(0x56).cstring(severity); // 'S', 'V'
      w.u8(0x43).cstring(code).u8(0x4d).cstring(text).u8(0); // 'C', 'M'
      return frame(0x45, w.finish());
    }
    case "copy_both_response": { // 'W'
      const w = new ByteWriter().u8(message.format).i16(message.columnFormats.length);
      for (const format of message.columnFormats) w.i16(format);
      return frame(0x57, w.finish());
    }
    case "copy_data": // 'd'
      return frame(0x64, message.data);
    case "copy_done": // 'c'
      return frame(0x63, new Uint8Array());
  }
}

/**
 * Decodes one backend message from the start of `bytes` (for test clients). A lone `N` is
 * only meaningful right after an SSL/GSS request, so the caller says when to expect it.
 */
export function decodeBackendMessage(
  bytes: Uint8Array,
  options: { expectEncryptionResponse?: boolean } = {},
): DecodeStep<BackendMessage> {
  if (options.expectEncryptionResponse) {
    if (bytes.length < 1) return { kind: "incomplete" };
    if (bytes[0] !== 0x4e) return malformed(`Unexpected encryption response ${bytes[0]}`);
    return {
      kind: "message",
      message: { tag: "encryption_response", accepted: false },
      consumed: 1,
    };
  }
  const f = tagged(bytes);
  if (f.kind !== "message") return f;
  const r = new ByteReader(f.message.body);
  const type = f.message.type;
  try {
    const message = backendBody(type, r);
    if (message === undefined) {
      return malformed(`Unknown backend message "${String.fromCharCode(type)}"`);
    }
    if (r.remaining !== 0) {
      return malformed(`${r.remaining} bytes left over in "${String.fromCharCode(type)}"`);
    }
    return { kind: "message", message, consumed: f.consumed };
  } catch (error) {
    return malformed(`Malformed "${String.fromCharCode(type)}": ${(error as Error).message}`);
  }
}

function backendBody(type: number, r: ByteReader): BackendMessage | undefined {
  switch (type) {
    case 0x52: { // 'R' Authentication
      const kind = r.i32();
      if (kind === 5) return { tag: "authentication_md5", salt: r.bytesOf(4).slice() };
      return kind === 0 ? { tag: "authentication_ok" } : undefined;
    }
    case 0x53: // 'S' ParameterStatus
      return { tag: "parameter_status", name: r.cstring(), value: r.cstring() };
    case 0x4b: // 'K' BackendKeyData
      return { tag: "backend_key_data", processId: r.i32(), secretKey: r.i32() };
    case 0x5a: // 'Z' ReadyForQuery
      return { tag: "ready_for_query", status: String.fromCharCode(r.u8()) as "I" | "T" | "E" };
    case 0x54: { // 'T' RowDescription
      const count = r.i16();
      const fields = Array.from({ length: count }, () => ({
        name: r.cstring(),
        tableOid: r.i32(),
        columnNumber: r.i16(),
        typeOid: r.i32(),
        typeSize: r.i16(),
        typeModifier: r.i32(),
        format: r.i16(),
      }));
      return { tag: "row_description", fields };
    }
    case 0x44: { // 'D' DataRow
      const count = r.i16();
      const values = Array.from({ length: count }, () => {
        const length = r.i32();
        return length < 0 ? null : r.utf8(length);
      });
      return { tag: "data_row", values };
    }
    case 0x43: // 'C' CommandComplete
      return { tag: "command_complete", command: r.cstring() };
    case 0x45: { // 'E' ErrorResponse
      const fields: Record<string, string> = {};
      for (let kind = r.u8(); kind !== 0; kind = r.u8()) {
        fields[String.fromCharCode(kind)] = r.cstring();
      }
      return {
        tag: "error_response",
        fields: {
          severity: (fields.V ?? fields.S) as "ERROR" | "FATAL",
          code: fields.C ?? "",
          message: fields.M ?? "",
        },
      };
    }
    case 0x57: { // 'W' CopyBothResponse
      const format = r.u8();
      const count = r.i16();
      return {
        tag: "copy_both_response",
        format,
        columnFormats: Array.from({ length: count }, () => r.i16()),
      };
    }
    case 0x64: // 'd' CopyData
      return { tag: "copy_data", data: r.rest().slice() };
    case 0x63: // 'c' CopyDone
      return { tag: "copy_done" };
    default:
      return undefined;
  }
}
