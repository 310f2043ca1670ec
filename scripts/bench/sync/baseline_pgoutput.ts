/**
 * Baseline: a bare pgoutput reader. What the service's read path starts from, with nothing
 * after the decoder: a logical slot (pgoutput, a publication on `items`) is created, `rows`
 * rows are committed in `perTx`-row transactions, then the slot is streamed and every message
 * decoded with the service's own codecs (src/pgwire: CopyData payload, then pgoutput). Rows/s
 * from the first decoded row to the last.
 *
 * The WAL is written before streaming starts so the figure is the reader's own ceiling, not
 * the writer's pace; scenario e measures the service on the same kind of backlog.
 */
import postgres from "postgres";
import {
  decodePgoutput,
  decodeReplicationMessage,
  encodeReplicationMessage,
  type PgoutputMessage,
  standbyStatusUpdate,
} from "../../../src/pgwire/mod.ts";
import { waitFor } from "../../../tests/helpers/wait.ts";
import { connectSql } from "./env.ts";
import { insertInTransactions } from "./writer.ts";

export async function bareReaderRowsPerSecond(
  url: string,
  options: { rows: number; perTx: number },
): Promise<number> {
  const sql = connectSql(url, 4);
  const repl = replicationConnection(url);
  try {
    await sql`CREATE PUBLICATION bench_pub FOR TABLE items`;
    await repl.unsafe(`CREATE_REPLICATION_SLOT bench_slot LOGICAL pgoutput NOEXPORT_SNAPSHOT`);
    await insertInTransactions(sql, options.rows, options.perTx);
    let rows = 0;
    let first = 0;
    let last = 0;
    let problem: string | undefined;
    const stream = await streamPgoutput(repl, {
      slot: "bench_slot",
      publication: "bench_pub",
      onMessage: (message) => {
        if (message.tag !== "insert") return;
        if (rows++ === 0) first = performance.now();
        last = performance.now();
      },
      onProblem: (text) => problem = text,
    });
    await waitFor(() => {
      if (problem) throw new Error(`Bare reader: ${problem}`);
      return rows >= options.rows;
    }, { timeoutMs: 600_000, intervalMs: 10, what: `${options.rows} rows from the slot` });
    stream.end();
    return (rows - 1) / ((last - first) / 1000);
  } finally {
    await repl.end({ timeout: 1 }).catch(() => {});
    await sql.end();
  }
}

/** A connection in replication mode, as a walsender client opens it. */
export function replicationConnection(url: string): postgres.Sql {
  return postgres(url, {
    onnotice: () => {},
    max: 1,
    fetch_types: false,
    connection: { replication: "database" } as Record<string, string>,
  });
}

/**
 * Streams `slot` (pgoutput, proto 1, `publication`) from its start and decodes every chunk with
 * the service's codecs: each pgoutput message goes to `onMessage`, a failure to `onProblem`.
 * Keepalives asking for a reply are answered with everything acknowledged; with `ackAll`, every
 * keepalive is (the slot moves on as a live instance's does).
 */
export async function streamPgoutput(repl: postgres.Sql, options: {
  slot: string;
  publication: string;
  ackAll?: boolean;
  onMessage: (message: PgoutputMessage) => void;
  onProblem: (text: string) => void;
}): Promise<NodeJS.ReadWriteStream> {
  const stream = await repl.unsafe(
    `START_REPLICATION SLOT ${options.slot} LOGICAL 0/0 ` +
      `(proto_version '1', publication_names '${options.publication}')`,
  ).writable() as unknown as NodeJS.ReadWriteStream;
  stream.on("data", (chunk: Uint8Array) => {
    const message = decodeReplicationMessage(chunk);
    if (!message.ok) {
      options.onProblem(message.error.message);
      return;
    }
    const m = message.message;
    if (m.tag === "xlog_data") {
      const decoded = decodePgoutput(m.data);
      if (!decoded.ok) options.onProblem(decoded.error.message);
      else options.onMessage(decoded.message);
    } else if (m.tag === "primary_keepalive" && (options.ackAll || m.replyRequested)) {
      const status = standbyStatusUpdate(m.walEnd, { clientTime: 0n });
      stream.write(encodeReplicationMessage(status));
    }
  });
  return stream;
}
