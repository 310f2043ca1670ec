/**
 * Small builders for Satellite messages the session sends: RPC envelopes, LSN bytes, and the
 * begin/commit ops of a transaction. Pure; no decisions about when to send.
 */
import {
  create,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  type SatErrorResp,
  SatErrorResp_ErrorCode,
  SatErrorRespSchema,
  type SatOpLog,
  SatOpLogSchema,
  type SatRpcRequest,
  SatRpcRequestSchema,
  SatRpcResponseSchema,
  SatTransOpSchema,
} from "../../gen/mod.ts";

/** A transaction op as plain init data; `create` builds the nested messages. */
export type TransOp = MessageInitShape<typeof SatTransOpSchema>;
import { encodeFrame } from "../codec/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Server LSNs travel as the ASCII decimal of the 64-bit position, e.g. "26911808". */
export function lsnToBytes(lsn: bigint): Uint8Array {
  return encoder.encode(lsn.toString());
}

/** The position encoded by `lsnToBytes`, or undefined for anything else. */
export function lsnFromBytes(bytes: Uint8Array): bigint | undefined {
  const text = decoder.decode(bytes);
  if (!/^\d{1,20}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= 0xffffffffffffffffn ? value : undefined;
}

export function rpcResponseFrame<Desc extends DescMessage>(
  request: Pick<SatRpcRequest, "method" | "requestId">,
  schema: Desc,
  payload: MessageShape<Desc>,
): Uint8Array {
  return encodeFrame(create(SatRpcResponseSchema, {
    method: request.method,
    requestId: request.requestId,
    result: { case: "message", value: toBinary(schema, payload) },
  }));
}

export function rpcErrorFrame(
  request: Pick<SatRpcRequest, "method" | "requestId">,
  code: SatErrorResp_ErrorCode,
  message?: string,
): Uint8Array {
  return encodeFrame(create(SatRpcResponseSchema, {
    method: request.method,
    requestId: request.requestId,
    result: { case: "error", value: create(SatErrorRespSchema, { errorType: code, message }) },
  }));
}

export function rpcRequestFrame<Desc extends DescMessage>(
  method: string,
  requestId: number,
  schema: Desc,
  payload: MessageShape<Desc>,
): Uint8Array {
  return encodeFrame(create(SatRpcRequestSchema, {
    method,
    requestId,
    message: toBinary(schema, payload),
  }));
}

export function errorFrame(
  code: SatErrorResp_ErrorCode,
  message?: string,
  lsn?: Uint8Array,
): Uint8Array {
  const error: SatErrorResp = create(SatErrorRespSchema, { errorType: code, message, lsn });
  return encodeFrame(error);
}

export function opLogFrame(ops: TransOp[]): Uint8Array {
  const log: SatOpLog = create(SatOpLogSchema, { ops });
  return encodeFrame(log);
}

export interface TransactionHeader {
  commitTimestampMs: bigint;
  lsn: bigint;
  origin: string;
  transactionId: bigint;
  isMigration: boolean;
  additionalDataRef?: bigint;
}

/** Wraps row/migrate ops in Begin … Commit with the header values on both ends. */
export function transactionOps(header: TransactionHeader, body: TransOp[]): TransOp[] {
  const lsn = lsnToBytes(header.lsn);
  const ref = header.additionalDataRef ?? 0n;
  return [
    {
      op: {
        case: "begin",
        value: {
          commitTimestamp: header.commitTimestampMs,
          lsn,
          origin: header.origin,
          isMigration: header.isMigration,
          additionalDataRef: ref,
          transactionId: header.transactionId,
        },
      },
    },
    ...body,
    {
      op: {
        case: "commit",
        value: { commitTimestamp: header.commitTimestampMs, lsn, additionalDataRef: ref },
      },
    },
  ];
}

export { SatErrorResp_ErrorCode };
