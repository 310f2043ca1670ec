import { startCluster } from "../../src/embedded/mod.ts";
import { connectSql, electrifyTable, freshDatabase, startBenchService } from "./sync/env.ts";
import { connectWriters, CREATE_TABLE } from "./client_writes/writing_clients.ts";
import { until } from "./sync/context.ts";
const started = await startCluster({ dataDir: "/tmp/sqlcap/pgdata", extraSettings: { fsync: "off", log_statement: "all", logging_collector: "off" } });
if (!started.ok) throw new Error(started.error.message);
const server = { adminUrl: started.cluster.url, stop: async () => {} };
const db = await freshDatabase(server, "cap");
const sql = connectSql(db.url);
await sql.unsafe(CREATE_TABLE);
const service = await startBenchService(db.url, "bun");
await electrifyTable(sql, service, "client_writes");
const [w] = await connectWriters("127.0.0.1", service.port, 1);
for (let i = 0; i < 5; i++) { w.write(); await until(() => w.inFlight === 0, 5000); }
w.close();
await service.stop();
console.log(db.url);
console.log(JSON.stringify(started.cluster));
