/**
 * Writing clients for the client-writes benchmark: light Satellite clients (the sync
 * benchmark's, scripts/bench/sync/light_client.ts) that authenticate, start replication,
 * answer the server's startReplication, announce the table and send one-operation
 * transactions. A write is done when its echo comes back: the service sends every client its
 * own transactions once Postgres applied them (origin = the client, commit timestamp = the
 * one it sent), so the echo is how a client learns, as the real client does.
 *
 * Each client's commit timestamps are unique (a start time plus a counter), which is what
 * matches an echo with its send time.
 */
import { create } from "@bufbuild/protobuf";
import { SatOpLogSchema, SatRelationSchema } from "../../../src/gen/mod.ts";
import { encodeFrame } from "../../../src/satellite/codec/mod.ts";
import { nullsBitmask } from "../../../src/satellite/serialization/mod.ts";
import { until } from "../sync/context.ts";
import { LightClient } from "../sync/light_client.ts";

/** The benchmark's table, as created and announced. */
export const TABLE = "client_writes";
export const CREATE_TABLE = `CREATE TABLE ${TABLE} (id text PRIMARY KEY, client int4, n int4)`;

const encoder = new TextEncoder();
const RELATION_ID = 1;

export class WritingClient {
  readonly index: number;
  readonly light: LightClient;
  /** Send time (performance.now()) by commit timestamp, until the echo comes. */
  readonly #inFlight = new Map<number, number>();
  #sequence = 0;
  readonly #base: number;
  /** Called with the latency of each echoed write, in ms. */
  onEcho: ((ms: number) => void) | undefined;
  echoed = 0;

  private constructor(index: number, light: LightClient, base: number) {
    this.index = index;
    this.light = light;
    this.#base = base;
  }

  /**
   * Connected, authenticated, replicating, uploading, the table announced. `id`: the client id
   * (a client reconnecting gives its own again); `base`: its first commit timestamp minus one.
   */
  static async connect(
    host: string,
    port: number,
    index: number,
    id: string = crypto.randomUUID(),
    base = Date.now(),
  ): Promise<WritingClient> {
    const echoes: { to?: WritingClient } = {};
    const light = await LightClient.connect({
      host,
      port,
      markerColumn: -1,
      onTransaction: (_marker, _rows, commitTimestamp) => echoes.to?.echo(commitTimestamp),
    }, id);
    const self = new WritingClient(index, light, base);
    echoes.to = self;
    await light.authenticate(`writer-${index}`);
    await light.startReplication();
    if (!await until(() => light.uploading, 15_000)) {
      throw new Error(`client ${index}: the server never asked for its writes`);
    }
    light.sendFrame(encodeFrame(create(SatRelationSchema, {
      schemaName: "public",
      tableName: TABLE,
      relationId: RELATION_ID,
      columns: [
        { name: "id", type: "text", isNullable: false },
        { name: "client", type: "int4", isNullable: true },
        { name: "n", type: "int4", isNullable: true },
      ],
    })));
    return self;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  get base(): number {
    return this.#base;
  }

  /** The last transaction number sent (transaction n has client LSN n and row `<index>-<n>`). */
  get sequence(): number {
    return this.#sequence;
  }

  /**
   * The transaction number the server asked writes after (0: none applied yet), once asked.
   */
  get appliedUpTo(): number | undefined {
    const lsn = this.light.uploadFrom;
    if (lsn === undefined) return undefined;
    return lsn.reduce((n, byte) => n * 256 + byte, 0);
  }

  /**
   * Sends transaction `n` (default: the next one), inserting row `<index>-<n>`; the same n
   * always makes the same transaction, so a resent one is the very same write.
   */
  write(n = this.#sequence + 1): void {
    this.#sequence = Math.max(this.#sequence, n);
    const timestamp = this.#base + n;
    const lsn = new Uint8Array(8);
    new DataView(lsn.buffer).setBigUint64(0, BigInt(n));
    const values = [`${this.index}-${n}`, String(this.index), String(n)];
    const frame = encodeFrame(create(SatOpLogSchema, {
      ops: [
        { op: { case: "begin", value: { commitTimestamp: BigInt(timestamp), lsn } } },
        {
          op: {
            case: "insert",
            value: {
              relationId: RELATION_ID,
              rowData: {
                nullsBitmask: nullsBitmask(values.map(() => false)),
                values: values.map((v) => encoder.encode(v)),
              },
              tags: [],
            },
          },
        },
        { op: { case: "commit", value: {} } },
      ],
    }));
    this.#inFlight.set(timestamp, performance.now());
    this.light.sendFrame(frame);
  }

  /** A transaction came back; it is one of this client's writes if its timestamp is known. */
  echo(commitTimestamp: number): void {
    const sent = this.#inFlight.get(commitTimestamp);
    if (sent === undefined) return; // a migration, or another client's write
    this.#inFlight.delete(commitTimestamp);
    this.echoed++;
    this.onEcho?.(performance.now() - sent);
  }

  close(): void {
    this.light.close();
  }
}

/** `count` writing clients, 25 connecting at a time. */
export async function connectWriters(
  host: string,
  port: number,
  count: number,
): Promise<WritingClient[]> {
  const clients: WritingClient[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      clients[i] = await WritingClient.connect(host, port, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(25, count) }, worker));
  return clients;
}
