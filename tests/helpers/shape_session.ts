/**
 * A raw Satellite session for shape tests: authenticate, start replication (optionally resuming
 * from a position with subscriptions), subscribe and read what arrived as `kind table:id` lines,
 * acknowledge the last transaction. Row ids are the first column of each row.
 */
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import {
  SatAuthReqSchema,
  SatAuthRespSchema,
  SatInStartReplicationReqSchema,
  SatInStartReplicationRespSchema,
  type SatOpLog,
  SatOpLogAckSchema,
  SatSubsReqSchema,
  SatSubsRespSchema,
} from "../../src/gen/mod.ts";
import { connectClient, insecureToken, payloadOf, type TestClient } from "./satellite_client.ts";

export interface ShapeSession {
  client: TestClient;
  /** Ops of every SatOpLog received (transactions and data), in order. */
  ops(): SatOpLog["ops"];
  /** Acknowledges the last transaction received; returns its LSN (the client's position). */
  ack(extra?: { subscriptionIds?: string[]; goneSubscriptionIds?: string[] }): Uint8Array;
  lastLsn(): Uint8Array;
}

/** Opens an authenticated, replicating session of client `id` on the service at `url`. */
export async function openShapeSession(
  url: string,
  id: string,
  start: { lsn?: Uint8Array; subscriptionIds?: string[] } = {},
): Promise<ShapeSession> {
  const client = await connectClient(url);
  payloadOf(
    SatAuthRespSchema,
    await client.rpc("authenticate", SatAuthReqSchema, { id, token: insecureToken({ sub: "u" }) }),
  );
  const started = payloadOf(
    SatInStartReplicationRespSchema,
    await client.rpc("startReplication", SatInStartReplicationReqSchema, start),
  );
  assert.equal(started.err, undefined, JSON.stringify(started.err));
  let lastTx: { id: bigint; lsn: Uint8Array } | undefined;
  let lastLsn = start.lsn ?? new Uint8Array();
  const self: ShapeSession = {
    client,
    ops() {
      const all: SatOpLog["ops"] = [];
      for (const frame of client.frames) {
        if (frame.name !== "SatOpLog") continue;
        for (const op of frame.message.ops) {
          if (op.op.case === "begin") {
            lastTx = { id: op.op.value.transactionId!, lsn: op.op.value.lsn };
            lastLsn = op.op.value.lsn;
          }
          all.push(op);
        }
      }
      return all;
    },
    ack(extra = {}) {
      self.ops();
      if (lastTx) {
        client.send(create(SatOpLogAckSchema, {
          lsn: lastTx.lsn,
          transactionId: lastTx.id,
          ...extra,
        }));
      }
      return lastLsn;
    },
    lastLsn() {
      self.ops();
      return lastLsn;
    },
  };
  return self;
}

const decoder = new TextDecoder();

/** Relation names by id, learnt from the SatRelation frames clients received. */
export class RelationNames {
  readonly #names = new Map<number, string>();

  note(client: TestClient): void {
    for (const frame of client.frames) {
      if (frame.name === "SatRelation") {
        this.#names.set(frame.message.relationId, frame.message.tableName);
      }
    }
  }

  name(id: number): string {
    return this.#names.get(id) ?? String(id);
  }

  /** `kind table:id` of every row op, e.g. "insert posts:p1". */
  rowOps(ops: SatOpLog["ops"]): string[] {
    const out: string[] = [];
    const first = (row: { values: Uint8Array[] }) => decoder.decode(row.values[0]);
    for (const { op } of ops) {
      if (op.case === "insert" || op.case === "update") {
        out.push(`${op.case} ${this.name(op.value.relationId)}:${first(op.value.rowData!)}`);
      } else if (op.case === "delete") {
        out.push(`delete ${this.name(op.value.relationId)}:${first(op.value.oldRowData!)}`);
      } else if (op.case === "gone") {
        out.push(`gone ${this.name(op.value.relationId)}:${first(op.value.pkData!)}`);
      }
    }
    return out;
  }

  /** Rows of the subscription data `client` received last, sorted. */
  dataRows(client: TestClient): string[] {
    const frames = client.frames;
    const begin = frames.findLastIndex((f) => f.name === "SatSubsDataBegin");
    const end = frames.findLastIndex((f) => f.name === "SatSubsDataEnd");
    const ops = frames.slice(begin, end).flatMap((f) => f.name === "SatOpLog" ? f.message.ops : []);
    return this.rowOps(ops).sort();
  }
}

/**
 * Subscribes `session` to one shape and waits for its data; returns the subscription id.
 * `context` is added to a timeout's message (the service's output, say).
 */
export async function subscribeShape(
  session: ShapeSession,
  relations: RelationNames,
  select: object,
  context: () => string = () => "",
): Promise<string> {
  const subscriptionId = crypto.randomUUID();
  payloadOf(
    SatSubsRespSchema,
    await session.client.rpc("subscribe", SatSubsReqSchema, {
      subscriptionId,
      shapeRequests: [{ requestId: crypto.randomUUID(), shapeDefinition: { selects: [select] } }],
    }),
  );
  await session.client.next("SatSubsDataEnd", { timeoutMs: 20_000 }).catch((error) => {
    throw new Error(`${error.message}\n${context()}`);
  });
  relations.note(session.client);
  return subscriptionId;
}
