/**
 * Running the server binaries as a non-root user. Postgres refuses to run as root, so when we
 * are root the data dir is handed to the `postgres` system user and every command is wrapped.
 * `setpriv` is preferred over `runuser` because it execs in place: the pid we spawn is the
 * postmaster itself, so signals reach it directly.
 */

import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
} from "node:fs";
import { dirname, join } from "node:path";

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** Finds `name` in /etc/passwd-formatted text. */
export function parsePasswd(text: string, name: string): OsUser | undefined {
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields[0] !== name || fields.length < 4) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { name, uid, gid };
  }
  return undefined;
}

/** How commands are run: directly, or switched to `user` because we are root. */
export type RunAs = { kind: "self" } | { kind: "user"; user: OsUser; via: "setpriv" | "runuser" };

function onPath(command: string): boolean {
  const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/bin", "/usr/sbin", "/bin"]);
  return dirs.some((dir) => dir !== "" && existsSync(`${dir}/${command}`));
}

/** Decides how to run server binaries; an error message when root has no usable user. */
export function resolveRunAs(): { ok: true; runAs: RunAs } | { ok: false; message: string } {
  if (process.getuid?.() !== 0) return { ok: true, runAs: { kind: "self" } };
  let user: OsUser | undefined;
  try {
    user = parsePasswd(readFileSync("/etc/passwd", "utf8"), "postgres");
  } catch {
    user = undefined;
  }
  if (user === undefined) {
    return { ok: false, message: 'Running as root but there is no "postgres" system user' };
  }
  if (onPath("setpriv")) return { ok: true, runAs: { kind: "user", user, via: "setpriv" } };
  if (onPath("runuser")) return { ok: true, runAs: { kind: "user", user, via: "runuser" } };
  return { ok: false, message: "Running as root but neither `setpriv` nor `runuser` is available" };
}

/** The argv that runs `command args` as decided by `runAs`. */
export function wrapCommand(runAs: RunAs, command: string, args: readonly string[]): string[] {
  if (runAs.kind === "self") return [command, ...args];
  const { user } = runAs;
  if (runAs.via === "runuser") return ["runuser", "-u", user.name, "--", command, ...args];
  return [
    "setpriv",
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    "--init-groups",
    "--",
    command,
    ...args,
  ];
}

/**
 * Creates `dataDir` (mode 0700, as initdb requires) and, when switching user, gives it to that
 * user and makes every ancestor traversable (adding only the execute bits, e.g. for mkdtemp's
 * 0700 dirs). Throws on filesystem errors; the caller turns them into an error value.
 */
export function prepareDataDir(dataDir: string, runAs: RunAs): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (runAs.kind === "self") return;
  const stat = statSync(dataDir);
  if (stat.uid !== runAs.user.uid) chownSync(dataDir, runAs.user.uid, runAs.user.gid);
  chmodSync(dataDir, 0o700);
  makeAncestorsTraversable(dataDir);
}

/** Adds only the group/other execute bits to every ancestor of `path` that lacks them. */
function makeAncestorsTraversable(path: string): void {
  for (let dir = dirname(path);; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o011) !== 0o011) chmodSync(dir, mode | 0o011);
    if (dirname(dir) === dir) break;
  }
}

/**
 * Lets the switched-to user read `root` (an npm package's files, installed by root, maybe
 * under a root-only home): ancestors become traversable as for the data dir, and inside `root`
 * directories get `o+rx`, files `o+r`, and files executable by their owner `o+x`. Only missing
 * bits are added, so a second call changes nothing. Throws on filesystem errors.
 */
export function grantTreeAccess(root: string, runAs: RunAs): void {
  if (runAs.kind === "self") return;
  makeAncestorsTraversable(root);
  const visit = (path: string): void => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    const mode = stat.mode & 0o7777;
    const wanted = stat.isDirectory() || (mode & 0o100) !== 0 ? 0o005 : 0o004;
    if ((mode & wanted) !== wanted) chmodSync(path, mode | wanted);
    if (stat.isDirectory()) { for (const name of readdirSync(path)) visit(join(path, name)); }
  };
  visit(root);
}
