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

/** Set once the file's tests are done and cleanups run. */
let cleaningUp = false;

/**
 * The client's reconnect logic runs from an error handler without a catch: when a client is
 * being closed while its socket drops (its service stops during the cleanup), that floating
 * promise rejects with the client's SatelliteError "socket error" after its test ended, and
 * node:test pins it on the `after` hook. During cleanup that is expected and only reported;
 * at any other time it still fails the run.
 */
process.on("unhandledRejection", (reason) => {
  const error = /** @type {Error | undefined} */ (reason);
  const socketError = error?.constructor?.name === "SatelliteError" &&
    /socket/i.test(String(error.message));
  if (cleaningUp && socketError) {
    console.error(`# during cleanup a closed client reported: ${error.message}`);
    return;
  }
  throw reason;
});

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
  cleaningUp = true;
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
