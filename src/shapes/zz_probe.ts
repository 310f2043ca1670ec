import { parseStatements } from "../schema/mod.ts";
for (const q of Deno.args) {
  const r = await parseStatements(`SELECT 1 WHERE ${q}`);
  console.log(q, JSON.stringify(r.ok ? (r.statements.map(s=>s.ast)) : r, null, 0));
}
