/**
 * A replication reader in a process of its own, for replication_restart_test.ts to kill with
 * SIGKILL: prints `started <lsn>` once streaming, then `tx <lsn> <id>` for every transaction
 * appended. Positions are persisted once at most (then every minute), so a kill leaves
 * transactions handed on but not persisted. Not a test file.
 *
 *   <runtime> tests/integration/replication_child_reader.ts <database url> <database name>
 */
import postgres from "postgres";
import {
  InMemoryTransactionLog,
  replicationConnectionFrom,
  ReplicationReader,
  type RowChange,
} from "../../src/replication/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";

const [url, database] = process.argv.slice(-2);
const sql = postgres(url, {
  max: 2,
  onnotice: () => {},
  connection: { TimeZone: "UTC", DateStyle: "ISO, DMY" },
});
const log = new InMemoryTransactionLog({ maxBytes: 1_000_000 });
log.subscribe((tx) => {
  const id = (tx.changes[0] as RowChange | undefined)?.record?.id ?? "-";
  process.stdout.write(`tx ${tx.lsn} ${id}\n`);
});
const reader = new ReplicationReader({
  // Exactly the transactions after the persisted position (no recent history again).
  replayBytes: 0n,
  connect: replicationConnectionFrom(sql),
  sql,
  database,
  log,
  logger: createLogger({ level: "error", write: (line) => process.stderr.write(line) }),
  persistIntervalMs: 60_000,
});
const handle = await reader.start();
process.stdout.write(`started ${handle.startLsn}\n`);
await handle.lost.catch((error) => process.stderr.write(`${error?.message}\n`));
