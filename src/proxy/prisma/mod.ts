/**
 * Prisma introspection mode of the migrations proxy (proxy-http-auth-config.md §3.10), used
 * by `electric-sql generate` through `prisma db pull` as user `prisma`: the introspection
 * queries are recognised by their output columns and answered from the service's electrified
 * schema, so Prisma sees exactly the electrified tables and enums. Must not send anything to
 * Postgres, and must not import the electric-mode engine.
 *
 * Modules: `session.ts` the message state machine, `recognise.ts` query recognition,
 * `queries.ts` the table of known queries, `answers.ts` rows from the schema model,
 * `pg_columns.ts` Postgres's own description of column types, `codec.ts` binary and text
 * values and the `name[]` parameter.
 */
export {
  initialPrisma,
  onPrismaFrame,
  type PrismaContext,
  type PrismaState,
  UNRECOGNISED_QUERY,
} from "./session.ts";
export { decodeNameArray, encodeCell, encodeNameArray } from "./codec.ts";
export { KNOWN_QUERIES, VERSION_QUERY } from "./queries.ts";
export { outputKeys, recognise } from "./recognise.ts";
export { SERVER_VERSION, SERVER_VERSION_NUM } from "./answers.ts";
