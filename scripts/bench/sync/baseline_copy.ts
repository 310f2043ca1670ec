/**
 * Baseline: `COPY items TO STDOUT` (text format) of the scenario table, read to the end by
 * postgres.js; rows/s from sending the command to the last byte. The fastest way to get the
 * rows out of Postgres, against which initial sync (scenario a) can be read.
 */
import { connectSql } from "./env.ts";

export async function copyRowsPerSecond(
  url: string,
): Promise<{ rows: number; rowsPerSecond: number }> {
  const sql = connectSql(url);
  try {
    const started = performance.now();
    const readable = await sql`COPY items TO STDOUT`.readable();
    let rows = 0;
    for await (const chunk of readable as AsyncIterable<Uint8Array>) {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) rows++;
    }
    const seconds = (performance.now() - started) / 1000;
    return { rows, rowsPerSecond: rows / seconds };
  } finally {
    await sql.end();
  }
}
