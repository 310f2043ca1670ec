/**
 * Satellite frame codec: bytes of one binary WebSocket message <-> one typed top-level message.
 *
 * Owns the type-byte table and nothing else: no I/O, no state, no protocol decisions (which
 * frames a peer may send when, RPC dispatch and error replies belong to the session). Message
 * schemas and types come from `src/gen/` (generated from `proto/satellite.proto`); RPC payloads
 * inside `SatRpcRequest` / `SatRpcResponse` are plain `toBinary` / `fromBinary` of those schemas.
 *
 * Message flow on one connection, in the order peers send it (doc sections 3 and 10):
 *
 *   C→S SatRpcRequest authenticate          S→C SatRpcResponse (SatAuthResp)
 *   S→C SatRpcRequest startReplication      C→S SatRpcResponse (SatInStartReplicationResp)
 *   C→S SatRpcRequest startReplication      S→C SatRpcResponse (SatInStartReplicationResp)
 *   S→C SatRelation, SatOpLog ...           C→S SatOpLogAck
 *   C→S SatRpcRequest subscribe             S→C SatRpcResponse (SatSubsResp)
 *   S→C SatSubsDataBegin, SatShapeDataBegin, SatOpLog ..., SatShapeDataEnd, SatSubsDataEnd
 *   C→S SatRelation, SatOpLog ...           (client writes)
 *   C→S SatRpcRequest unsubscribe           S→C SatRpcResponse (SatUnsubsResp),
 *                                           S→C SatUnsubsDataBegin, SatOpLog ..., SatUnsubsDataEnd
 *   S→C SatErrorResp / SatSubsDataError     (errors)
 *
 * @module
 */
export {
  decodeFrame,
  type DecodeOptions,
  type DecodeResult,
  DEFAULT_MAX_FRAME_SIZE,
  encodeFrame,
  encodeFrameOf,
  type Frame,
  type FrameError,
  type FrameErrorCode,
  type FrameMessage,
  type FrameMessageOf,
  type FrameName,
  frameName,
  FRAMES,
  type FrameType,
} from "./frames.ts";
export { SAT_OP_LOG_ACK_TYPE, scanPlainAck } from "./ack_scan.ts";
export { decodeRpcPayload, type RpcPayloadResult } from "./rpc_payload.ts";
