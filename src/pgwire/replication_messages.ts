/**
 * The streaming replication protocol's CopyData payloads, both directions:
 * XLogData (`w`) and PrimaryKeepalive (`k`) from the server, StandbyStatusUpdate (`r`) from
 * the client. Pure codec. The reader decodes `w`/`k` and encodes `r`; the logical publisher,
 * which plays the server towards a subscribing Postgres, does the opposite.
 * https://www.postgresql.org/docs/current/protocol-replication.html#PROTOCOL-REPLICATION-START-REPLICATION
 */
import { ByteReader, ByteWriter, TruncatedMessage } from "./bytes.ts";

export interface XLogData {
  tag: "xlog_data";
  /** Start of the WAL data in this message. */
  walStart: bigint;
  /** Current end of WAL on the server. */
  walEnd: bigint;
  /** Server clock, µs since 2000-01-01. */
  serverTime: bigint;
  /** A pgoutput message for logical replication. */
  data: Uint8Array;
}

export interface PrimaryKeepalive {
  tag: "primary_keepalive";
  walEnd: bigint;
  serverTime: bigint;
  /** The server wants a StandbyStatusUpdate soon, or it will drop the connection. */
  replyRequested: boolean;
}

export interface StandbyStatusUpdate {
  tag: "standby_status_update";
  /** Last WAL byte + 1 received and written. */
  written: bigint;
  /** Last WAL byte + 1 flushed: what moves a logical slot's confirmed_flush_lsn. */
  flushed: bigint;
  /** Last WAL byte + 1 applied. */
  applied: bigint;
  /** Client clock, µs since 2000-01-01. */
  clientTime: bigint;
  replyRequested: boolean;
}

export type ReplicationMessage = XLogData | PrimaryKeepalive | StandbyStatusUpdate;

export type ReplicationDecodeResult =
  | { ok: true; message: ReplicationMessage }
  | { ok: false; error: { code: "UNKNOWN_MESSAGE" | "MALFORMED_MESSAGE"; message: string } };

/** Bytes before an XLogData message's data: the tag, WAL start, WAL end and send time. */
const XLOG_DATA_HEADER = 1 + 8 + 8 + 8;

/**
 * The data (a pgoutput message) of an XLogData payload, without decoding its header; undefined
 * for any other payload. The reader needs only the data, and the header's three 64-bit fields
 * would be three BigInts per streamed message.
 */
export function xlogDataPayload(bytes: Uint8Array): Uint8Array | undefined {
  return bytes[0] === 0x77 && bytes.length >= XLOG_DATA_HEADER
    ? bytes.subarray(XLOG_DATA_HEADER)
    : undefined;
}

/** Decodes one CopyData payload of a replication stream (either direction). */
export function decodeReplicationMessage(bytes: Uint8Array): ReplicationDecodeResult {
  const r = new ByteReader(bytes, 1);
  try {
    switch (bytes[0]) {
      case 0x77: // 'w' XLogData
        return {
          ok: true,
          message: {
            tag: "xlog_data",
            walStart: r.u64(),
            walEnd: r.u64(),
            serverTime: r.i64(),
            data: r.rest(),
          },
        };
      case 0x6b: // 'k' PrimaryKeepalive
        return {
          ok: true,
          message: {
            tag: "primary_keepalive",
            walEnd: r.u64(),
            serverTime: r.i64(),
            replyRequested: r.u8() === 1,
          },
        };
      case 0x72: // 'r' StandbyStatusUpdate
        return {
          ok: true,
          message: {
            tag: "standby_status_update",
            written: r.u64(),
            flushed: r.u64(),
            applied: r.u64(),
            clientTime: r.i64(),
            replyRequested: r.u8() === 1,
          },
        };
      default: {
        const tag = bytes.length > 0 ? `"${String.fromCharCode(bytes[0])}"` : "(empty)";
        return {
          ok: false,
          error: { code: "UNKNOWN_MESSAGE", message: `Unknown replication message: ${tag}` },
        };
      }
    }
  } catch (error) {
    if (!(error instanceof TruncatedMessage)) throw error;
    return {
      ok: false,
      error: {
        code: "MALFORMED_MESSAGE",
        message: `Malformed replication message: ${error.message}`,
      },
    };
  }
}

export function encodeReplicationMessage(message: ReplicationMessage): Uint8Array {
  const w = new ByteWriter(34);
  switch (message.tag) {
    case "xlog_data":
      w.u8(0x77).u64(message.walStart).u64(message.walEnd).i64(message.serverTime) // 'w'
        .raw(message.data);
      break;
    case "primary_keepalive":
      w.u8(0x6b).u64(message.walEnd).i64(message.serverTime) // 'k'
        .u8(message.replyRequested ? 1 : 0);
      break;
    case "standby_status_update":
      w.u8(0x72).u64(message.written).u64(message.flushed).u64(message.applied) // 'r'
        .i64(message.clientTime).u8(message.replyRequested ? 1 : 0);
      break;
  }
  return w.finish();
}

/** The status update a logical client sends: everything up to `lsn` written, flushed, applied. */
export function standbyStatusUpdate(
  lsn: bigint,
  options: { clientTime: bigint; replyRequested?: boolean },
): StandbyStatusUpdate {
  return {
    tag: "standby_status_update",
    written: lsn,
    flushed: lsn,
    applied: lsn,
    clientTime: options.clientTime,
    replyRequested: options.replyRequested ?? false,
  };
}
