/**
 * The Postgres frontend/backend protocol 3.0 as a pure codec: framing, the frontend messages
 * (what a client sends) and the backend messages (what a server sends), each decodable and
 * encodable so a proxy can inspect one direction and a test client can speak the other.
 * No I/O, no state. The migrations proxy (a client of Postgres and a server to its clients),
 * the logical publisher (a server to Postgres's subscription) and test clients all use it.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 *
 * Framing: the first packet of a connection (and the one after an `N` answer to SSLRequest or
 * GSSENCRequest) is untagged: Int32 length including itself, Int32 request code, body. Every
 * later message is a tag byte, an Int32 length including itself but not the tag, and a body.
 *
 * Decoding is two-step on purpose: `readFrame` only cuts frames (cheap, used on every byte a
 * proxy relays), `decodeFrontend`/`decodeBackend` turn a frame into a typed message when the
 * caller needs to look inside. Malformed input yields a coded error, never an exception.
 *
 * Over 400 lines because both directions of one protocol belong together (tables of small
 * cases, one per message tag).
 */
import { ByteReader, ByteWriter } from "./bytes.ts";

export const PROTOCOL_3_0 = 196608; // 3 << 16
export const SSL_REQUEST_CODE = 80877103; // 1234 << 16 | 5679
export const GSSENC_REQUEST_CODE = 80877104; // 1234 << 16 | 5680
export const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678
/** Postgres refuses startup packets longer than this (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_LENGTH = 10_000;

export interface WireError {
  code: "MALFORMED_MESSAGE" | "MESSAGE_TOO_LONG";
  message: string;
}

/** One tagged message: `raw` is the whole message (tag, length, body) as received. */
export interface Frame {
  tag: number;
  body: Uint8Array;
  raw: Uint8Array;
}

export type FrameStep =
  | { kind: "frame"; frame: Frame; consumed: number }
  | { kind: "incomplete" }
  | { kind: "error"; error: WireError };

/** Cuts one tagged message from `buf` at `offset` (zero-copy: `body`/`raw` are views). */
export function readFrame(buf: Uint8Array, offset: number, maxLength: number): FrameStep {
  if (buf.length - offset < 5) return { kind: "incomplete" };
  const length = ((buf[offset + 1] << 24) | (buf[offset + 2] << 16) | (buf[offset + 3] << 8) |
    buf[offset + 4]) >>> 0;
  if (length < 4) return malformed(`message length ${length} is less than 4`);
  if (length > maxLength) {
    return {
      kind: "error",
      error: { code: "MESSAGE_TOO_LONG", message: `message length ${length} exceeds ${maxLength}` },
    };
  }
  const end = offset + 1 + length;
  if (buf.length < end) return { kind: "incomplete" };
  const frame = {
    tag: buf[offset],
    body: buf.subarray(offset + 5, end),
    raw: buf.subarray(offset, end),
  };
  return { kind: "frame", frame, consumed: 1 + length };
}

function malformed(message: string): { kind: "error"; error: WireError } {
  return { kind: "error", error: { code: "MALFORMED_MESSAGE", message } };
}

// ---------------------------------------------------------------------------------------
// Frontend (client → server)

export type StartupPacket =
  | { type: "SSLRequest" }
  | { type: "GSSENCRequest" }
  | { type: "CancelRequest"; processId: number; secretKey: number }
  | { type: "StartupMessage"; protocolVersion: number; parameters: Record<string, string> };

export type StartupStep =
  | { kind: "packet"; packet: StartupPacket; consumed: number }
  | { kind: "incomplete" }
  | { kind: "error"; error: WireError };

/** Decodes the untagged first packet. */
export function readStartupPacket(buf: Uint8Array, offset = 0): StartupStep {
  // The length is checked as soon as it is there: a bad one is refused at once, not after
  // waiting for bytes that may never come.
  if (buf.length - offset < 4) return { kind: "incomplete" };
  const reader = new ByteReader(buf, offset);
  const length = reader.i32();
  if (length < 8) return malformed(`startup packet length ${length} is less than 8`);
  if (length > MAX_STARTUP_LENGTH) {
    return {
      kind: "error",
      error: { code: "MESSAGE_TOO_LONG", message: `startup packet length ${length} is too long` },
    };
  }
  if (buf.length - offset < length) return { kind: "incomplete" };
  const code = reader.i32();
  const body = new ByteReader(buf.subarray(offset + 8, offset + length));
  const done = (packet: StartupPacket): StartupStep => ({
    kind: "packet",
    packet,
    consumed: length,
  });
  switch (code) {
    case SSL_REQUEST_CODE:
      return done({ type: "SSLRequest" });
    case GSSENC_REQUEST_CODE:
      return done({ type: "GSSENCRequest" });
    case CANCEL_REQUEST_CODE:
      if (body.remaining < 8) return malformed("CancelRequest is too short");
      return done({ type: "CancelRequest", processId: body.i32(), secretKey: body.i32() });
  }
  if (code >> 16 !== 3) {
    return malformed(`unsupported protocol version ${code >> 16}.${code & 0xffff}`);
  }
  const parameters: Record<string, string> = {};
  try {
    for (;;) {
      const name = body.cstring();
      if (name === "") break;
      parameters[name] = body.cstring();
    }
  } catch {
    return malformed("startup parameters are not NUL-terminated");
  }
  return done({ type: "StartupMessage", protocolVersion: code, parameters });
}

export type FrontendMessage =
  | { type: "Query"; sql: string } // 'Q'
  | { type: "Parse"; name: string; sql: string; paramTypes: number[] } // 'P'
  | {
    type: "Bind"; // 'B'
    portal: string;
    statement: string;
    paramFormats: number[];
    params: (Uint8Array | null)[];
    resultFormats: number[];
  }
  | { type: "Execute"; portal: string; maxRows: number } // 'E'
  | { type: "Describe"; kind: "S" | "P"; name: string } // 'D'
  | { type: "Close"; kind: "S" | "P"; name: string } // 'C'
  | { type: "Sync" } // 'S'
  | { type: "Flush" } // 'H'
  | { type: "Terminate" } // 'X'
  | { type: "CopyData"; data: Uint8Array } // 'd'
  | { type: "CopyDone" } // 'c'
  | { type: "CopyFail"; message: string } // 'f'
  /** PasswordMessage, SASLInitialResponse and SASLResponse share the tag; the body is raw. */
  | { type: "PasswordMessage"; data: Uint8Array } // 'p'
  | { type: "FunctionCall"; body: Uint8Array }; // 'F'

export type Decoded<M> = { ok: true; message: M } | { ok: false; error: WireError };

function decodeWith<M>(what: string, read: () => M): Decoded<M> {
  try {
    return { ok: true, message: read() };
  } catch {
    return { ok: false, error: { code: "MALFORMED_MESSAGE", message: `${what} is malformed` } };
  }
}

export function decodeFrontend(frame: Frame): Decoded<FrontendMessage> {
  const r = new ByteReader(frame.body);
  switch (frame.tag) {
    case 0x51: // 'Q' Query
      return decodeWith("Query", () => ({ type: "Query", sql: r.cstring() }));
    case 0x50: // 'P' Parse
      return decodeWith("Parse", () => {
        const name = r.cstring();
        const sql = r.cstring();
        const count = r.i16();
        const paramTypes = Array.from({ length: count }, () => r.u32());
        return { type: "Parse", name, sql, paramTypes };
      });
    case 0x42: // 'B' Bind
      return decodeWith("Bind", () => {
        const portal = r.cstring();
        const statement = r.cstring();
        const paramFormats = Array.from({ length: r.i16() }, () => r.i16());
        const params = Array.from({ length: r.i16() }, () => {
          const n = r.i32();
          return n < 0 ? null : r.bytesOf(n);
        });
        const resultFormats = Array.from({ length: r.i16() }, () => r.i16());
        return { type: "Bind", portal, statement, paramFormats, params, resultFormats };
      });
    case 0x45: // 'E' Execute
      return decodeWith(
        "Execute",
        () => ({ type: "Execute", portal: r.cstring(), maxRows: r.i32() }),
      );
    case 0x44: // 'D' Describe
    case 0x43: // 'C' Close
      return decodeWith(frame.tag === 0x44 ? "Describe" : "Close", () => {
        const kind = String.fromCharCode(r.u8());
        if (kind !== "S" && kind !== "P") throw new Error("bad kind");
        return { type: frame.tag === 0x44 ? "Describe" : "Close", kind, name: r.cstring() };
      });
    case 0x53: // 'S' Sync
      return { ok: true, message: { type: "Sync" } };
    case 0x48: // 'H' Flush
      return { ok: true, message: { type: "Flush" } };
    case 0x58: // 'X' Terminate
      return { ok: true, message: { type: "Terminate" } };
    case 0x64: // 'd' CopyData
      return { ok: true, message: { type: "CopyData", data: frame.body } };
    case 0x63: // 'c' CopyDone
      return { ok: true, message: { type: "CopyDone" } };
    case 0x66: // 'f' CopyFail
      return decodeWith("CopyFail", () => ({ type: "CopyFail", message: r.cstring() }));
    case 0x70: // 'p' PasswordMessage / SASLInitialResponse / SASLResponse
      return { ok: true, message: { type: "PasswordMessage", data: frame.body } };
    case 0x46: // 'F' FunctionCall
      return { ok: true, message: { type: "FunctionCall", body: frame.body } };
  }
  return {
    ok: false,
    error: {
      code: "MALFORMED_MESSAGE",
      message: `unknown frontend message type ${JSON.stringify(String.fromCharCode(frame.tag))}`,
    },
  };
}

function tagged(tag: string, fill?: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter();
  w.u8(tag.charCodeAt(0)).i32(0);
  fill?.(w);
  const out = w.finish();
  new DataView(out.buffer, out.byteOffset).setInt32(1, out.length - 1);
  return out;
}

function untagged(code: number, fill?: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter();
  w.i32(0).i32(code);
  fill?.(w);
  const out = w.finish();
  new DataView(out.buffer, out.byteOffset).setInt32(0, out.length);
  return out;
}

export function encodeStartup(packet: StartupPacket): Uint8Array {
  switch (packet.type) {
    case "SSLRequest":
      return untagged(SSL_REQUEST_CODE);
    case "GSSENCRequest":
      return untagged(GSSENC_REQUEST_CODE);
    case "CancelRequest":
      return untagged(CANCEL_REQUEST_CODE, (w) => w.i32(packet.processId).i32(packet.secretKey));
    case "StartupMessage":
      return untagged(packet.protocolVersion, (w) => {
        for (const [k, v] of Object.entries(packet.parameters)) w.cstring(k).cstring(v);
        w.u8(0);
      });
  }
}

export function encodeFrontend(message: FrontendMessage): Uint8Array {
  switch (message.type) {
    case "Query":
      return tagged("Q", (w) => w.cstring(message.sql));
    case "Parse":
      return tagged("P", (w) => {
        w.cstring(message.name).cstring(message.sql).i16(message.paramTypes.length);
        for (const t of message.paramTypes) w.u32(t);
      });
    case "Bind":
      return tagged("B", (w) => {
        w.cstring(message.portal).cstring(message.statement);
        w.i16(message.paramFormats.length);
        for (const f of message.paramFormats) w.i16(f);
        w.i16(message.params.length);
        for (const p of message.params) {
          if (p === null) w.i32(-1);
          else w.i32(p.length).raw(p);
        }
        w.i16(message.resultFormats.length);
        for (const f of message.resultFormats) w.i16(f);
      });
    case "Execute":
      return tagged("E", (w) => w.cstring(message.portal).i32(message.maxRows));
    case "Describe":
      return tagged("D", (w) => w.u8(message.kind.charCodeAt(0)).cstring(message.name));
    case "Close":
      return tagged("C", (w) => w.u8(message.kind.charCodeAt(0)).cstring(message.name));
    case "Sync":
      return tagged("S");
    case "Flush":
      return tagged("H");
    case "Terminate":
      return tagged("X");
    case "CopyData":
      return tagged("d", (w) => w.raw(message.data));
    case "CopyDone":
      return tagged("c");
    case "CopyFail":
      return tagged("f", (w) => w.cstring(message.message));
    case "PasswordMessage":
      return tagged("p", (w) => w.raw(message.data));
    case "FunctionCall":
      return tagged("F", (w) => w.raw(message.body));
  }
}

/** A cleartext or `md5…` password response: the text and its terminating NUL. */
export function passwordMessage(text: string): Uint8Array {
  return encodeFrontend({ type: "PasswordMessage", data: new ByteWriter().cstring(text).finish() });
}

/** SASLInitialResponse: mechanism name, then the Int32-sized client-first message. */
export function saslInitialResponse(mechanism: string, data: Uint8Array): Uint8Array {
  const body = new ByteWriter().cstring(mechanism).i32(data.length).raw(data).finish();
  return encodeFrontend({ type: "PasswordMessage", data: body });
}

// ---------------------------------------------------------------------------------------
// Backend (server → client)

/** Error and notice fields by their one-letter codes (`S`, `C`, `M`, `D`, `P`, `q`, …). */
export type NoticeFields = Record<string, string>;

/** One column of a RowDescription. */
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

export type BackendMessage =
  | { type: "Authentication"; code: number; data: Uint8Array } // 'R'
  | { type: "ParameterStatus"; name: string; value: string } // 'S'
  | { type: "BackendKeyData"; processId: number; secretKey: number } // 'K'
  | { type: "ReadyForQuery"; status: TransactionStatus } // 'Z'
  | { type: "ErrorResponse"; fields: NoticeFields } // 'E'
  | { type: "NoticeResponse"; fields: NoticeFields } // 'N'
  | { type: "CommandComplete"; tag: string } // 'C'
  | { type: "ParseComplete" } // '1'
  | { type: "BindComplete" } // '2'
  | { type: "CloseComplete" } // '3'
  | { type: "NoData" } // 'n'
  | { type: "EmptyQueryResponse" } // 'I'
  | { type: "PortalSuspended" } // 's'
  | { type: "ParameterDescription"; types: number[] } // 't'
  | { type: "DataRow"; values: (Uint8Array | null)[] } // 'D'
  | { type: "NotificationResponse"; processId: number; channel: string; payload: string } // 'A'
  | { type: "RowDescription"; fields: FieldDescription[] } // 'T'
  /** What a walsender answers START_REPLICATION with (format 0, no columns). */
  | { type: "CopyBothResponse"; format: number; columnFormats: number[] } // 'W'
  | { type: "CopyData"; data: Uint8Array } // 'd'
  | { type: "CopyDone" } // 'c'
  /** Copy in/out responses and the rest: relayed, never looked into. */
  | { type: "Other"; tag: string; body: Uint8Array };

/** `I` idle, `T` in a transaction block, `E` in a failed transaction block. */
export type TransactionStatus = "I" | "T" | "E";

/** Authentication request codes (the Int32 after the `R` tag). */
export const AUTH = {
  Ok: 0,
  KerberosV5: 2,
  CleartextPassword: 3,
  MD5Password: 5,
  GSS: 7,
  GSSContinue: 8,
  SSPI: 9,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

function readFields(r: ByteReader): NoticeFields {
  const fields: NoticeFields = {};
  for (;;) {
    const code = r.u8();
    if (code === 0) return fields;
    fields[String.fromCharCode(code)] = r.cstring();
  }
}

export function decodeBackend(frame: Frame): Decoded<BackendMessage> {
  const r = new ByteReader(frame.body);
  switch (frame.tag) {
    case 0x52: // 'R' Authentication*
      return decodeWith("Authentication", () => ({
        type: "Authentication",
        code: r.i32(),
        data: r.rest(),
      }));
    case 0x53: // 'S' ParameterStatus
      return decodeWith("ParameterStatus", () => ({
        type: "ParameterStatus",
        name: r.cstring(),
        value: r.cstring(),
      }));
    case 0x4b: // 'K' BackendKeyData
      return decodeWith("BackendKeyData", () => ({
        type: "BackendKeyData",
        processId: r.i32(),
        secretKey: r.i32(),
      }));
    case 0x5a: // 'Z' ReadyForQuery
      return decodeWith("ReadyForQuery", () => {
        const status = String.fromCharCode(r.u8());
        if (status !== "I" && status !== "T" && status !== "E") throw new Error("bad status");
        return { type: "ReadyForQuery", status };
      });
    case 0x45: // 'E' ErrorResponse
      return decodeWith("ErrorResponse", () => ({ type: "ErrorResponse", fields: readFields(r) }));
    case 0x4e: // 'N' NoticeResponse
      return decodeWith(
        "NoticeResponse",
        () => ({ type: "NoticeResponse", fields: readFields(r) }),
      );
    case 0x43: // 'C' CommandComplete
      return decodeWith("CommandComplete", () => ({ type: "CommandComplete", tag: r.cstring() }));
    case 0x31: // '1' ParseComplete
      return { ok: true, message: { type: "ParseComplete" } };
    case 0x32: // '2' BindComplete
      return { ok: true, message: { type: "BindComplete" } };
    case 0x33: // '3' CloseComplete
      return { ok: true, message: { type: "CloseComplete" } };
    case 0x6e: // 'n' NoData
      return { ok: true, message: { type: "NoData" } };
    case 0x49: // 'I' EmptyQueryResponse
      return { ok: true, message: { type: "EmptyQueryResponse" } };
    case 0x73: // 's' PortalSuspended
      return { ok: true, message: { type: "PortalSuspended" } };
    case 0x74: // 't' ParameterDescription
      return decodeWith("ParameterDescription", () => ({
        type: "ParameterDescription",
        types: Array.from({ length: r.i16() }, () => r.u32()),
      }));
    case 0x44: // 'D' DataRow
      return decodeWith("DataRow", () => ({
        type: "DataRow",
        values: Array.from({ length: r.i16() }, () => {
          const n = r.i32();
          return n < 0 ? null : r.bytesOf(n);
        }),
      }));
    case 0x41: // 'A' NotificationResponse
      return decodeWith("NotificationResponse", () => ({
        type: "NotificationResponse",
        processId: r.i32(),
        channel: r.cstring(),
        payload: r.cstring(),
      }));
    case 0x54: // 'T' RowDescription
      return decodeWith("RowDescription", () => ({
        type: "RowDescription",
        fields: Array.from({ length: r.i16() }, () => ({
          name: r.cstring(),
          tableOid: r.u32(),
          columnNumber: r.i16(),
          typeOid: r.u32(),
          typeSize: r.i16(),
          typeModifier: r.i32(),
          format: r.i16(),
        })),
      }));
    case 0x57: // 'W' CopyBothResponse
      return decodeWith("CopyBothResponse", () => ({
        type: "CopyBothResponse",
        format: r.u8(),
        columnFormats: Array.from({ length: r.i16() }, () => r.i16()),
      }));
    case 0x64: // 'd' CopyData
      return { ok: true, message: { type: "CopyData", data: frame.body } };
    case 0x63: // 'c' CopyDone
      return { ok: true, message: { type: "CopyDone" } };
  }
  return {
    ok: true,
    message: { type: "Other", tag: String.fromCharCode(frame.tag), body: frame.body },
  };
}

function writeFields(w: ByteWriter, fields: NoticeFields): void {
  for (const [code, value] of Object.entries(fields)) w.u8(code.charCodeAt(0)).cstring(value);
  w.u8(0);
}

export function encodeBackend(message: BackendMessage): Uint8Array {
  switch (message.type) {
    case "Authentication":
      return tagged("R", (w) => w.i32(message.code).raw(message.data));
    case "ParameterStatus":
      return tagged("S", (w) => w.cstring(message.name).cstring(message.value));
    case "BackendKeyData":
      return tagged("K", (w) => w.i32(message.processId).i32(message.secretKey));
    case "ReadyForQuery":
      return tagged("Z", (w) => w.u8(message.status.charCodeAt(0)));
    case "ErrorResponse":
      return tagged("E", (w) => writeFields(w, message.fields));
    case "NoticeResponse":
      return tagged("N", (w) => writeFields(w, message.fields));
    case "CommandComplete":
      return tagged("C", (w) => w.cstring(message.tag));
    case "ParseComplete":
      return tagged("1");
    case "BindComplete":
      return tagged("2");
    case "CloseComplete":
      return tagged("3");
    case "NoData":
      return tagged("n");
    case "EmptyQueryResponse":
      return tagged("I");
    case "PortalSuspended":
      return tagged("s");
    case "ParameterDescription":
      return tagged("t", (w) => {
        w.i16(message.types.length);
        for (const t of message.types) w.u32(t);
      });
    case "DataRow":
      return tagged("D", (w) => {
        w.i16(message.values.length);
        for (const v of message.values) {
          if (v === null) w.i32(-1);
          else w.i32(v.length).raw(v);
        }
      });
    case "NotificationResponse":
      return tagged(
        "A",
        (w) => w.i32(message.processId).cstring(message.channel).cstring(message.payload),
      );
    case "RowDescription":
      return tagged("T", (w) => {
        w.i16(message.fields.length);
        for (const f of message.fields) {
          w.cstring(f.name).u32(f.tableOid).i16(f.columnNumber).u32(f.typeOid).i16(f.typeSize)
            .i32(f.typeModifier).i16(f.format);
        }
      });
    case "CopyBothResponse":
      return tagged("W", (w) => {
        w.u8(message.format).i16(message.columnFormats.length);
        for (const format of message.columnFormats) w.i16(format);
      });
    case "CopyData":
      return tagged("d", (w) => w.raw(message.data));
    case "CopyDone":
      return tagged("c");
    case "Other":
      return tagged(message.tag, (w) => w.raw(message.body));
  }
}

/** An ErrorResponse with the fields every server sends: severity (twice), SQLSTATE, text. */
export function errorResponse(
  severity: "ERROR" | "FATAL",
  code: string,
  message: string,
): BackendMessage {
  return { type: "ErrorResponse", fields: { S: severity, V: severity, C: code, M: message } };
}

/** A DataRow of text values (NULL as null). */
export function textDataRow(values: readonly (string | null)[]): BackendMessage {
  return {
    type: "DataRow",
    values: values.map((value) => value === null ? null : textEncoder.encode(value)),
  };
}

const textEncoder = new TextEncoder();

/** The text of a cleartext or `md5…` PasswordMessage body (its NUL-terminated string). */
export function passwordText(data: Uint8Array): Decoded<string> {
  return decodeWith("PasswordMessage", () => {
    const r = new ByteReader(data);
    const text = r.cstring();
    if (r.remaining !== 0) throw new Error("trailing bytes");
    return text;
  });
}

/** The single-byte answer to SSLRequest/GSSENCRequest that declines encryption. */
export const DECLINE_ENCRYPTION: Uint8Array = new Uint8Array([0x4e]); // 'N'

/** Concatenates byte arrays (one allocation). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
