/**
 * The three RPCs most Satellite tests open a session with — authenticate, startReplication,
 * subscribe to whole tables — each sent on a TestClient and its successful payload returned.
 * Checks on the payload (an `err` expected absent, say) stay with the caller.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  SatAuthReqSchema,
  SatAuthRespSchema,
  SatInStartReplicationReqSchema,
  SatInStartReplicationRespSchema,
  SatSubsReqSchema,
  SatSubsRespSchema,
} from "../../src/gen/mod.ts";
import { payloadOf, type TestClient } from "./satellite_client.ts";

/** Authenticates `client` with `token` (as client `id`, a fresh one unless given). */
export async function authenticate(client: TestClient, token: string, id = crypto.randomUUID()) {
  return payloadOf(
    SatAuthRespSchema,
    await client.rpc("authenticate", SatAuthReqSchema, { id, token }),
  );
}

/** Asks the server to start its stream (`request` as the client sends it). */
export async function startReplication(
  client: TestClient,
  request: MessageInitShape<typeof SatInStartReplicationReqSchema> = {},
) {
  return payloadOf(
    SatInStartReplicationRespSchema,
    await client.rpc("startReplication", SatInStartReplicationReqSchema, request),
  );
}

/** Subscribes to the whole of `tablename` in a new subscription (its data follows). */
export async function subscribeTable(client: TestClient, tablename: string) {
  return payloadOf(
    SatSubsRespSchema,
    await client.rpc("subscribe", SatSubsReqSchema, {
      subscriptionId: crypto.randomUUID(),
      shapeRequests: [{
        requestId: crypto.randomUUID(),
        shapeDefinition: { selects: [{ tablename }] },
      }],
    }),
  );
}
