/**
 * The baselines of every run, each on a fresh database and without the service: the bare
 * pgoutput reader (baseline_pgoutput.ts) and COPY TO STDOUT of the `rows`-row table
 * (baseline_copy.ts).
 */
import { bareReaderRowsPerSecond } from "../baseline_pgoutput.ts";
import { copyRowsPerSecond } from "../baseline_copy.ts";
import { type Ctx, type Figures, figures } from "../context.ts";
import { connectSql, fillItems, freshDatabase } from "../env.ts";

export async function baselines(ctx: Ctx): Promise<Figures> {
  const out = figures();
  const reader = await freshDatabase(ctx.server, "reader");
  try {
    out.values["base.reader"] = await bareReaderRowsPerSecond(reader.url, {
      rows: ctx.sizes.streamRows,
      perTx: ctx.sizes.perTx,
    });
  } finally {
    await reader.drop();
  }
  const copy = await freshDatabase(ctx.server, "copy");
  try {
    const sql = connectSql(copy.url);
    await fillItems(sql, ctx.sizes.rows).finally(() => sql.end());
    const { rows, rowsPerSecond } = await copyRowsPerSecond(copy.url);
    if (rows !== ctx.sizes.rows) throw new Error(`COPY returned ${rows} of ${ctx.sizes.rows} rows`);
    out.values["base.copy"] = rowsPerSecond;
  } finally {
    await copy.drop();
  }
  ctx.log(
    `baselines: reader ${out.values["base.reader"].toFixed(0)} rows/s, COPY ${
      out.values["base.copy"].toFixed(0)
    } rows/s`,
  );
  return out;
}
