/**
 * How the replication side of a connection talks back to its socket (`SessionIo`), the close
 * codes it uses, and the RPC payload decoding every request handler shares: apart from
 * `replication_session.ts` so that the request handlers it calls need not import it back.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { SatRpcRequest } from "../../gen/mod.ts";
import type { Logger } from "../../telemetry/mod.ts";
import { decodeRpcPayload } from "../codec/mod.ts";
import type { Phase } from "./metrics.ts";
import { rpcErrorFrame, SatErrorResp_ErrorCode as ErrorCode } from "./wire.ts";

/** Close codes: runtimes only accept 1000 and 3000–4999; the client reads only the reason. */
export const CLOSE = {
  normal: 1000,
  expired: 4000,
  invalid: 4007,
  internal: 4011,
} as const;

/** What the session may do to its connection. */
export interface SessionIo {
  readonly logger: Logger;
  /** `initial` for subscription data (metrics); default `live`. */
  send(frame: Uint8Array, phase?: Phase): void;
  close(code: number, reason: string): void;
  /** Sends a top-level SatErrorResp, then closes. */
  fail(code: ErrorCode, message: string, closeCode?: number, reason?: string): void;
  isClosed(): boolean;
  /** Resolves once no more than `bytes` wait to be written to the client. */
  drained(bytes: number): Promise<void>;
}

/**
 * The payload of `request` as `schema`, or undefined after answering INVALID_REQUEST and closing
 * with 4007: a payload that does not decode is the client's error.
 */
export function requestPayload<D extends DescMessage>(
  io: SessionIo,
  request: SatRpcRequest,
  schema: D,
): MessageShape<D> | undefined {
  const payload = decodeRpcPayload(schema, request.message);
  if (payload.ok) return payload.message;
  io.logger.warning(payload.error.message);
  io.send(rpcErrorFrame(request, ErrorCode.INVALID_REQUEST, "Malformed RPC payload"));
  io.close(CLOSE.invalid, "Malformed RPC payload");
  return undefined;
}
