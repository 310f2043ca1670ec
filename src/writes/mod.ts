/**
 * Writes into Postgres: client transactions (already validated by the Satellite session)
 * turned into the statements that merge them (set-based, or the two-insert protocol that the
 * shadow triggers merge), and the direct writer that applies them. Must not know about
 * sockets or shapes.
 */
export type { ClientChange, ClientChangeKind, ClientTransaction } from "./client_transaction.ts";
export { type ClientWriter, DirectWriter, type WriteOutcome } from "./direct_writer.ts";
export { clientTransactionSql } from "./statements.ts";
export { type ChangeRun, clientChangeRuns } from "./runs.ts";
export { mergedGroupSql } from "./merged_sql.ts";
export { pgLiteral, quote } from "./literal.ts";
export { maskText, modifiedMask } from "./columns.ts";
export { parseClientTag, type ParsedTag, tagArrayText, tagText } from "./tags.ts";
