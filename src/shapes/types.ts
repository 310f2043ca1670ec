/**
 * The shapes module's data: subscription requests as the Satellite session decodes them, the
 * validated plan, rows with their tags, and what live filtering hands back.
 */
import type { ForeignKeyModel, TableModel } from "../schema/mod.ts";
import type { WhereExpr } from "./where_types.ts";

export interface SelectInput {
  tablename: string;
  /** The where clause text; "" for none. */
  where: string;
  /** `select` is undefined when the include carried none (refused as INVALID_INCLUDE_TREE). */
  include: { foreignKey: string[]; select: SelectInput | undefined }[];
}

export interface ShapeRequestInput {
  requestId: string;
  select: SelectInput | undefined;
  /** How many selects the shape definition carried (the protocol allows a list). */
  selectCount: number;
}

export interface SubscriptionInput {
  subscriptionId: string;
  shapeRequests: ShapeRequestInput[];
}

export type ShapeRequestErrorCode =
  | "TABLE_NOT_FOUND"
  | "REFERENTIAL_INTEGRITY_VIOLATION"
  | "EMPTY_SHAPE_DEFINITION"
  | "DUPLICATE_TABLE_IN_SHAPE_DEFINITION"
  | "INVALID_WHERE_CLAUSE"
  | "INVALID_INCLUDE_TREE";

export interface ShapeRequestError {
  code: ShapeRequestErrorCode;
  message: string;
  requestId: string;
}

export interface SubsError {
  code: "SUBSCRIPTION_ID_ALREADY_EXISTS" | "SHAPE_REQUEST_ERROR" | "CODE_UNSPECIFIED";
  message: string;
  shapeRequestErrors: ShapeRequestError[];
}

/**
 * One layer of a shape: the rows of `table` that pass `where` and, below the root, are related
 * to a row of the parent layer. `one_to_many`: `fk` is on this layer's table and points to the
 * parent layer's table (children of a parent row). `many_to_one`: `fk` is on the parent layer's
 * table and points here (the row a parent row references).
 */
export interface LayerPlan {
  /** Unique within the client's subscriptions: `<subscription id>/<path>/<request id>`. */
  id: string;
  table: TableModel;
  where?: WhereExpr;
  relation?: { kind: "one_to_many" | "many_to_one"; fk: ForeignKeyModel };
  /** True for many-to-one parents followed because of referential integrity, not requested. */
  automatic: boolean;
  children: LayerPlan[];
}

export interface RequestPlan {
  requestId: string;
  root: LayerPlan;
}

export interface SubscriptionPlan {
  subscriptionId: string;
  requests: RequestPlan[];
}

/** A row as delivered to a client: every column as Postgres text, tags in client form. */
export interface ShapeRow {
  schema: string;
  table: string;
  record: Record<string, string | null>;
  tags: string[];
}

export interface OutChange {
  kind: "insert" | "update" | "delete" | "gone";
  schema: string;
  table: string;
  /** New row (insert, update), the row as the client had it (delete), primary key only (gone). */
  record: Record<string, string | null>;
  /** Update: the row as the client had it. */
  oldRecord?: Record<string, string | null>;
  /** Empty for delete and gone. */
  tags: string[];
}

/**
 * Rows that entered `layer` in a transaction: their one-to-many children (and everything
 * below) must be fetched by a move-in query and sent as additional data.
 */
export interface MoveInRequest {
  subscriptionId: string;
  requestId: string;
  layer: LayerPlan;
  rows: ShapeRow[];
}
