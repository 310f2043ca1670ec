/**
 * The interop harness: a throwaway Postgres, the service as a child process under a chosen
 * runtime, and the real electric-sql@0.12.1 client in this Node process.
 */
import { after } from "node:test";

export {
  freshDatabase,
  startPostgres,
  stopPostgres,
  withSql,
} from "./postgres.mjs";
export { currentRuntime, serviceCommand, startService } from "./service.mjs";
export { buildSchema, createClient } from "./client.mjs";
export { freePort, waitFor, withTimeout } from "./wait.mjs";
export { fetchBundledMigrations, unzip } from "./migrations.mjs";

/** @type {Array<{ what: string, fn: () => unknown }>} */
const cleanups = [];

/**
 * Registers a cleanup for the end of this test file. Cleanups run last-in first-out after all
 * tests (each bounded to 15 s, failures logged), then the process exits: the client keeps an
 * acknowledgement timer alive for about a minute after `close()`, and node:test only finishes a
 * file once its event loop is empty.
 * @param {string} what
 * @param {() => unknown} fn
 */
export function defer(what, fn) {
  cleanups.push({ what, fn });
}

// Registered on import, i.e. at the top level of the test file, so it belongs to the root test.
after(async () => {
  while (cleanups.length > 0) {
    const { what, fn } =
      /** @type {{ what: string, fn: () => unknown }} */ (cleanups.pop());
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    try {
      await Promise.race([
        fn(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error("timed out after 15 s")),
            15_000,
          );
        }),
      ]);
    } catch (error) {
      console.error(
        `# cleanup "${what}" failed: ${/** @type {Error} */ (error).message}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
  setTimeout(() => process.exit(), 200).unref();
});
