import { test } from "node:test";
import assert from "node:assert/strict";
import { applyMigration, EMPTY_SCHEMA, type SchemaModel } from "../schema/mod.ts";
import { planSubscription } from "./plan.ts";
import type { LayerPlan, SelectInput, ShapeRequestInput, SubscriptionInput } from "./types.ts";

const DDL = [
  "CREATE TABLE users (id text PRIMARY KEY, name text)",
  "CREATE TABLE projects (id text PRIMARY KEY, owner_id text REFERENCES users (id), reviewer_id text REFERENCES users (id))",
  "CREATE TABLE issues (id text PRIMARY KEY, project_id text REFERENCES projects (id), title text)",
  "CREATE TABLE tree (id text PRIMARY KEY, parent_id text REFERENCES tree (id))",
  "CREATE TABLE a (id text PRIMARY KEY, b_id text)",
  "CREATE TABLE b (id text PRIMARY KEY, a_id text REFERENCES a (id))",
];

let cached: SchemaModel | undefined;
async function model(): Promise<SchemaModel> {
  if (!cached) {
    const applied = await applyMigration(EMPTY_SCHEMA, "1", DDL, { tableOid: () => 0 });
    assert.ok(applied.ok);
    cached = applied.ok ? applied.model : EMPTY_SCHEMA;
    // A cycle a -> b -> a (the model only learns FKs from CREATE TABLE).
    const a = cached.tables.find((t) => t.name === "a")!;
    a.foreignKeys.push({
      name: "a_b_fk",
      columns: ["b_id"],
      parentSchema: "public",
      parentTable: "b",
      parentColumns: ["id"],
      onDelete: "NO ACTION",
      onUpdate: "NO ACTION",
    });
  }
  return cached;
}

const ID = "6f1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718";
const select = (tablename: string, extra: Partial<SelectInput> = {}): SelectInput => ({
  tablename,
  where: "",
  include: [],
  ...extra,
});
const request = (s: SelectInput | undefined, requestId = "r1"): ShapeRequestInput => ({
  requestId,
  select: s,
  selectCount: s ? 1 : 0,
});

async function errorOf(input: SubscriptionInput, active: string[] = []) {
  const result = await planSubscription(input, await model(), {
    activeSubscriptionIds: new Set(active),
  });
  assert.equal(result.ok, false);
  return result.ok ? undefined : result.error;
}

const SUBSCRIPTION_ERRORS: [string, SubscriptionInput, string[], string, string][] = [
  [
    "too long",
    {
      subscriptionId: "x".repeat(129),
      shapeRequests: [],
    },
    [],
    "CODE_UNSPECIFIED",
    "ID too long",
  ],
  [
    "not a UUID",
    {
      subscriptionId: ID.toUpperCase(),
      shapeRequests: [request(select("users"))],
    },
    [],
    "CODE_UNSPECIFIED",
    "Subscription ID should be a valid UUID",
  ],
  [
    "already active",
    { subscriptionId: ID, shapeRequests: [request(select("users"))] },
    [ID],
    "SUBSCRIPTION_ID_ALREADY_EXISTS",
    "Cannot establish multiple subscriptions with the same ID. If you want to change the subscription, you need to unsubscribe first.",
  ],
  [
    "no requests",
    { subscriptionId: ID, shapeRequests: [] },
    [],
    "CODE_UNSPECIFIED",
    "Subscription must include at least one shape request",
  ],
  [
    "duplicate request ids",
    { subscriptionId: ID, shapeRequests: [request(select("users")), request(select("users"))] },
    [],
    "CODE_UNSPECIFIED",
    "Duplicated request ids are not allowed",
  ],
];

for (const [name, input, active, code, message] of SUBSCRIPTION_ERRORS) {
  test(`subscription refused: ${name}`, async () => {
    const error = await errorOf(input, active);
    assert.deepEqual(error, { code, message, shapeRequestErrors: [] });
  });
}

const REQUEST_ERRORS: [string, ShapeRequestInput, string, string | RegExp][] = [
  [
    "no select",
    request(undefined),
    "EMPTY_SHAPE_DEFINITION",
    "Empty shape requests are not allowed",
  ],
  [
    "two selects",
    { ...request(select("users")), selectCount: 2 },
    "INVALID_INCLUDE_TREE",
    "Cannot have more than one top-level select",
  ],
  ["empty table name", request(select("")), "TABLE_NOT_FOUND", "Invalid table name"],
  ["long table name", request(select("t".repeat(65))), "TABLE_NOT_FOUND", "Invalid table name"],
  ["control characters", request(select("us\u0000ers")), "TABLE_NOT_FOUND", "Invalid table name"],
  ["unknown table", request(select("nope")), "TABLE_NOT_FOUND", "Unknown table nope"],
  [
    "bad where",
    request(select("users", { where: "name = 'x'" })),
    "INVALID_WHERE_CLAUSE",
    "unknown reference name - did you mean `this.name`?",
  ],
  [
    "include without select",
    request(select("users", { include: [{ foreignKey: ["owner_id"], select: undefined }] })),
    "INVALID_INCLUDE_TREE",
    /must have a select/,
  ],
  [
    "unrelated include",
    request(select("users", { include: [{ foreignKey: ["x"], select: select("issues") }] })),
    "INVALID_INCLUDE_TREE",
    "Relation between public.users and public.issues over FK (x) does not exist",
  ],
  [
    "same relationship twice",
    request(select("users", {
      include: [
        { foreignKey: ["owner_id"], select: select("projects") },
        { foreignKey: ["owner_id"], select: select("projects") },
      ],
    })),
    "INVALID_INCLUDE_TREE",
    "Cannot traverse same relationship twice",
  ],
  [
    "back over the relationship it came through",
    request(select("users", {
      include: [{
        foreignKey: ["owner_id"],
        select: select("projects", {
          include: [{ foreignKey: ["owner_id"], select: select("users") }],
        }),
      }],
    })),
    "INVALID_INCLUDE_TREE",
    "Cannot traverse same relationship twice",
  ],
  [
    "self reference",
    request(select("tree", { include: [{ foreignKey: ["parent_id"], select: select("tree") }] })),
    "INVALID_INCLUDE_TREE",
    /Self-referencing/,
  ],
];

for (const [name, shape, code, message] of REQUEST_ERRORS) {
  test(`shape request refused: ${name}`, async () => {
    const error = await errorOf({ subscriptionId: ID, shapeRequests: [shape] });
    assert.equal(error?.code, "SHAPE_REQUEST_ERROR");
    assert.equal(error?.message, "Could not establish a subscription due to errors on requests");
    assert.equal(error?.shapeRequestErrors.length, 1);
    const [e] = error!.shapeRequestErrors;
    assert.equal(e.code, code);
    assert.equal(e.requestId, "r1");
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
  });
}

function outline(layer: LayerPlan): unknown {
  const kind = layer.relation ? `${layer.relation.kind}:${layer.relation.fk.columns}` : "root";
  return [
    `${layer.table.name} ${kind}${layer.automatic ? " auto" : ""}`,
    ...layer.children.map(outline),
  ];
}

test("includes in both directions, parents followed automatically", async () => {
  const result = await planSubscription(
    {
      subscriptionId: ID,
      shapeRequests: [request(select("projects", {
        where: "this.id <> 'x'",
        include: [{ foreignKey: ["project_id"], select: select("issues") }],
      }))],
    },
    await model(),
    { activeSubscriptionIds: new Set() },
  );
  assert.ok(result.ok);
  if (!result.ok) return;
  const root = result.plan.requests[0].root;
  assert.deepEqual(outline(root), [
    "projects root",
    ["issues one_to_many:project_id"],
    ["users many_to_one:owner_id auto"],
    ["users many_to_one:reviewer_id auto"],
  ]);
  assert.equal(root.id, `${ID}/0/r1`);
  assert.equal(root.children[1].id, `${ID}/0.1/r1`);
  assert.equal(root.where?.op, "compare");
});

test("automatic parents stop at cycles", async () => {
  const result = await planSubscription(
    { subscriptionId: ID, shapeRequests: [request(select("a")), request(select("tree"), "r2")] },
    await model(),
    { activeSubscriptionIds: new Set() },
  );
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.deepEqual(outline(result.plan.requests[0].root), [
    "a root",
    ["b many_to_one:b_id auto"],
  ]);
  assert.deepEqual(outline(result.plan.requests[1].root), ["tree root"]);
});
