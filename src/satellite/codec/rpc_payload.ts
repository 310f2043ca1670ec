/**
 * The payload of an RPC request or response (`SatRpcRequest.message`), decoded as a value: a
 * payload that is not the method's message is the peer's error (INVALID_REQUEST), never an
 * exception for the session to guess about.
 */
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";

export type RpcPayloadResult<D extends DescMessage> =
  | { ok: true; message: MessageShape<D> }
  | { ok: false; error: { code: "MALFORMED_PAYLOAD"; message: string } };

export function decodeRpcPayload<D extends DescMessage>(
  schema: D,
  payload: Uint8Array,
): RpcPayloadResult<D> {
  try {
    return { ok: true, message: fromBinary(schema, payload) };
  } catch (error) {
    return {
      ok: false,
      error: {
        code: "MALFORMED_PAYLOAD",
        message: `Malformed ${schema.name} payload: ${(error as Error).message}`,
      },
    };
  }
}
