/**
 * All shadow-machinery routines as one SQL text, run on every service start after the
 * `electric` schema is installed. Every statement is CREATE OR REPLACE, so running it again
 * (or after an upgrade) is safe, and nothing here refers to an electrified table.
 */
import { CLIENT_WRITES_GENERATORS_SQL } from "./client_writes_sql.ts";
import { FK_TOUCH_GENERATORS_SQL } from "./fk_touch_sql.ts";
import { SHADOW_HELPERS_SQL } from "./helpers_sql.ts";
import { INSTALL_ROUTINES_SQL } from "./install_sql.ts";
import { POSTGRES_WRITES_GENERATORS_SQL } from "./postgres_writes_sql.ts";

export const SHADOW_ROUTINES_SQL: string = [
  SHADOW_HELPERS_SQL,
  POSTGRES_WRITES_GENERATORS_SQL,
  CLIENT_WRITES_GENERATORS_SQL,
  FK_TOUCH_GENERATORS_SQL,
  INSTALL_ROUTINES_SQL,
].join("\n");
