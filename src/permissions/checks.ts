/**
 * Compiles the `CHECK` expressions of the write grants for one user into where expressions
 * (the same parser and evaluator as shape where clauses), once per change of the user's access,
 * so checking a write stays synchronous. A check that does not compile opens nothing, and says
 * why in the log.
 */
import { findTable, type SchemaModel } from "../schema/mod.ts";
import { parseWhere, type WhereExpr } from "../shapes/mod.ts";
import { checkClause, type CompiledChecks } from "./access.ts";
import type { Grant, PermissionRules } from "./rules.ts";

export async function compileChecks(
  rules: PermissionRules,
  model: SchemaModel | undefined,
  userId: string,
  warn: (message: string) => void,
): Promise<CompiledChecks> {
  const checks = new Map<Grant, WhereExpr | null>();
  for (const grant of rules.grants) {
    if (grant.check === undefined || grant.privilege === "select") continue;
    const table = model && findTable(model, grant.table.schema, grant.table.name);
    if (!model || !table) {
      checks.set(grant, null);
      continue;
    }
    const parsed = await parseWhere(checkClause(grant.check, userId), table, model);
    if (!parsed.ok) {
      warn(
        `The CHECK of a ${grant.privilege} grant on ${grant.table.schema}.${grant.table.name} ` +
          `does not compile, so it allows nothing: ${parsed.message}`,
      );
    }
    checks.set(grant, parsed.ok ? parsed.expr : null);
  }
  return checks;
}
