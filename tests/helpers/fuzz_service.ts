/**
 * The running service the seeded fuzz tests (`tests/e2e/*_fuzz_test.ts`) aim at: a fresh
 * database with the test's tables, the service on a free HTTP port, healthy, and the tables
 * electrified; then what each test checks once its inputs are through (no failure logged, the
 * status page still answers) and the teardown.
 *
 * Kept apart from fuzz.ts, which the input generators and a property test import without any
 * service.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { findFreePort } from "../../src/embedded/mod.ts";
import { freshDatabase } from "./pg_cluster.ts";
import { serviceEnv } from "./service_config.ts";
import { type ServiceProcess, startService } from "./service_process.ts";

export interface FuzzService {
  db: Awaited<ReturnType<typeof freshDatabase>>;
  /** A client of the test database (two connections). */
  sql: postgres.Sql;
  /** The service's HTTP port. */
  port: number;
  service: ServiceProcess;
  /** The end of the service's output, to follow a failure's message. */
  outputTail(): string;
  /** Asserts the service logged nothing that `failures` matches. */
  assertNoFailureLogged(failures: RegExp): void;
  /** Asserts `/api/status` still answers 200. */
  assertStatusOk(message?: string): Promise<void>;
  /** Stops the service and drops the database. */
  stop(): Promise<void>;
}

/**
 * Creates a fresh database and runs `setup` (SQL) on it, starts the service (LOG_LEVEL
 * warning, then `env`) and waits for its status page, then electrifies `electrify`. What was
 * started is stopped again when a step fails.
 */
export async function startFuzzService(
  options: { setup?: string; env?: Record<string, string>; electrify?: string[] } = {},
): Promise<FuzzService> {
  const db = await freshDatabase();
  const sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  let service: ServiceProcess | undefined;
  const stop = async () => {
    service?.kill();
    await service?.exited;
    await sql.end({ timeout: 1 });
    await db.drop();
  };
  try {
    if (options.setup !== undefined) await sql.unsafe(options.setup);
    const port = await findFreePort();
    service = startService(
      await serviceEnv(db.url, port, { LOG_LEVEL: "warning", ...options.env }),
    );
    await service.waitForStatus(port, 200, 30_000);
    for (const table of options.electrify ?? []) await sql`CALL electric.electrify(${table})`;
    return running({ db, sql, port, service, stop });
  } catch (error) {
    await stop();
    throw error;
  }
}

function running(
  parts: Pick<FuzzService, "db" | "sql" | "port" | "service" | "stop">,
): FuzzService {
  const { port, service } = parts;
  return {
    ...parts,
    outputTail: () => `\nService output (end): ${service.output().slice(-3000)}`,
    assertNoFailureLogged(failures) {
      assert.doesNotMatch(service.output(), failures);
    },
    async assertStatusOk(message) {
      const res = await fetch(`http://127.0.0.1:${port}/api/status`);
      assert.equal(res.status, 200, message);
      await res.body?.cancel();
    },
  };
}
