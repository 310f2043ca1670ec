/**
 * Startup checks of the Postgres server and role, run before anything is installed. A failed
 * check is not retried: the user must change Postgres, so each problem says exactly what to
 * change, and all problems are reported together.
 */
import type { WriteMode } from "../config/mod.ts";
import type { Sql } from "./pg_client.ts";

export const MIN_SERVER_VERSION_NUM = 140000;

export interface ServerFacts {
  serverVersionNum: number;
  serverVersion: string;
  walLevel: string;
  role: string;
  database: string;
  superuser: boolean;
  replication: boolean;
  createOnDatabase: boolean;
}

export interface PreflightProblem {
  code: "UNSUPPORTED_VERSION" | "WAL_LEVEL_NOT_LOGICAL" | "MISSING_ROLE_ATTRIBUTE";
  message: string;
  hint: string;
}

export async function readServerFacts(sql: Sql): Promise<ServerFacts> {
  const [row] = await sql`
    SELECT current_setting('server_version_num')::int AS server_version_num,
           current_setting('server_version') AS server_version,
           current_setting('wal_level') AS wal_level,
           current_user AS role,
           current_database() AS database,
           r.rolsuper AS superuser,
           r.rolreplication AS replication,
           has_database_privilege(current_database(), 'CREATE') AS create_on_database
      FROM pg_roles r WHERE r.rolname = current_user`;
  return {
    serverVersionNum: row.server_version_num,
    serverVersion: row.server_version,
    walLevel: row.wal_level,
    role: row.role,
    database: row.database,
    superuser: row.superuser,
    replication: row.replication,
    createOnDatabase: row.create_on_database,
  };
}

/** Pure: what is wrong with this server for this write mode (empty when all is well). */
export function checkServer(facts: ServerFacts, writeMode: WriteMode): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  if (facts.serverVersionNum < MIN_SERVER_VERSION_NUM) {
    problems.push({
      code: "UNSUPPORTED_VERSION",
      message: `Postgres ${facts.serverVersion} is not supported.`,
      hint: "Electric needs Postgres 14 or newer. Upgrade the database server.",
    });
  }
  if (facts.walLevel !== "logical") {
    problems.push({
      code: "WAL_LEVEL_NOT_LOGICAL",
      message: "Your Postgres database is not configured with wal_level=logical.",
      hint:
        `It is set to wal_level=${facts.walLevel}. Run ALTER SYSTEM SET wal_level = 'logical'; ` +
        "(or set wal_level = logical in postgresql.conf) and restart Postgres.",
    });
  }
  const role = quoteIdent(facts.role);
  if (writeMode === "logical_replication") {
    if (!facts.superuser) {
      problems.push({
        code: "MISSING_ROLE_ATTRIBUTE",
        message:
          `The role ${role} is not a superuser, which ELECTRIC_WRITE_TO_PG_MODE=logical_replication needs ` +
          "to create the subscription that writes client changes.",
        hint: `Run ALTER ROLE ${role} SUPERUSER; or set ELECTRIC_WRITE_TO_PG_MODE=direct_writes.`,
      });
    }
    return problems;
  }
  if (!facts.superuser && !facts.replication) {
    problems.push({
      code: "MISSING_ROLE_ATTRIBUTE",
      message:
        `The role ${role} lacks the REPLICATION attribute needed to read changes from Postgres.`,
      hint: `Run ALTER ROLE ${role} REPLICATION;`,
    });
  }
  if (!facts.superuser && !facts.createOnDatabase) {
    problems.push({
      code: "MISSING_ROLE_ATTRIBUTE",
      message: `The role ${role} cannot create schemas in database ${
        quoteIdent(facts.database)
      }, which Electric needs to install its "electric" schema.`,
      hint: `Run GRANT CREATE ON DATABASE ${quoteIdent(facts.database)} TO ${role};`,
    });
  }
  return problems;
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}
