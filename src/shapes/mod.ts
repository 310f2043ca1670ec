/**
 * Shapes (postgres-side.md §9, satellite-protocol.md §7): subscription requests validated into
 * plans, where clauses parsed into typed trees (evaluated in-process and rendered as SQL), the
 * initial and move-in queries, and the per-client state that filters the transaction stream.
 * Must not do I/O except in `fetchInitialData` and `fetchMoveIn`, which run on a transaction
 * the caller opened (REPEATABLE READ, with the service's session settings); filtering is pure.
 *
 * Flow for one client: `planSubscription` → (snapshot, magic write) `fetchInitialData` →
 * `state.unsentRows` (what to send) → `state.addSubscription` (everything fetched) → per
 * transaction `state.filterTransaction` → for each move-in request `fetchMoveIn` →
 * `state.applyMoveIn` (what to send as additional data) → `state.removeSubscriptions` on
 * unsubscribe (the `gone` rows).
 *
 * Where clauses run under COLLATE "C" (text order, LIKE/ILIKE, lower/upper are byte/ASCII
 * based) in the initial query as in the evaluator; see where_parse.ts for the subset.
 */
export type {
  LayerPlan,
  MoveInRequest,
  OutChange,
  RequestPlan,
  SelectInput,
  ShapeRequestError,
  ShapeRequestErrorCode,
  ShapeRequestInput,
  ShapeRow,
  SubscriptionInput,
  SubscriptionPlan,
  SubsError,
} from "./types.ts";
export type { ScalarType, WhereExpr } from "./where_types.ts";
export { columnScalarType, parseWhere, type WhereParseResult } from "./where_parse.ts";
export { evaluate, evaluateWhere } from "./where_eval.ts";
export { whereToSql } from "./where_sql.ts";
export { type PlanResult, planSubscription, withCurrentTables } from "./plan.ts";
export {
  clientTags,
  EPOCH_TAG,
  fetchInitialData,
  fetchMoveIn,
  type RawRowBatch,
  rawTagsReader,
  streamLayerRows,
} from "./initial_query.ts";
export { hasOwnerColumn, type LayerQuery, layerQuery, OWNER_COLUMN } from "./layer_query.ts";
export { type GraphRound, GraphState, type MembershipChange } from "./graph_state.ts";
export {
  type GroupDefinition,
  groupDefinition,
  type GroupMember,
  partitionIntoGroups,
  requestKey,
} from "./group.ts";
export { passesLayer, StatelessFilter } from "./stateless.ts";
export {
  isKeyOf,
  keyRecord,
  primaryKeyKey,
  primaryKeyRecord,
  type RowKey,
  tableKey,
} from "./row_key.ts";
