/**
 * Running the server binaries as a non-root user. Postgres refuses to run as root, so when we
 * are root the data dir is handed to the `postgres` system user and every command is wrapped.
 * A machine whose binaries came from npm (no distribution package) has no such user; there we
 * fall back to `nobody`, which every Debian-like system has. That is the unprivileged account
 * meant for exactly this, and a throwaway dev or CI cluster owned by it is fine; a long-lived
 * server should get its own `postgres` user, which is always preferred when present.
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
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import type { ServerUser } from "./types.ts";

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

/** The user with `uid` in /etc/passwd-formatted text (the first, if several share it). */
function userWithUid(text: string, uid: number): OsUser | undefined {
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 4 && Number(fields[2]) === uid && fields[0] !== "") {
      return parsePasswd(line, fields[0]);
    }
  }
  return undefined;
}

/** How commands are run: directly, or switched to `user` because we are root. */
export type RunAs = { kind: "self" } | { kind: "user"; user: OsUser; via: "setpriv" | "runuser" };

function onPath(command: string): boolean {
  const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/bin", "/usr/sbin", "/bin"]);
  return dirs.some((dir) => dir !== "" && existsSync(`${dir}/${command}`));
}

export interface ResolveRunAsOptions {
  /** Default: this process's uid. */
  uid?: number;
  /** /etc/passwd-formatted text, read only when root. Default: the contents of /etc/passwd. */
  passwd?: string;
  /** The user to switch to when root. Default: `postgres`, else `nobody`. */
  user?: string;
  /**
   * The uid owning an existing data dir: when root and no user is requested, its owner runs
   * the server (a cluster made as `nobody` before a `postgres` user appeared still starts).
   */
  dataDirOwner?: number;
  /** Whether a command is installed. Default: looks on PATH and in /usr/bin, /usr/sbin, /bin. */
  hasCommand?: (command: string) => boolean;
}

export type ResolvedRunAs =
  | { ok: true; runAs: RunAs; user: ServerUser }
  | { ok: false; message: string };

function readPasswd(): string {
  try {
    return readFileSync("/etc/passwd", "utf8");
  } catch {
    return "";
  }
}

function ownName(uid: number | undefined): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${uid}`;
  }
}

/** The user to switch to as root and why, or why there is none. */
function pickUser(
  passwd: string,
  wanted: string | undefined,
  dataDirOwner: number | undefined,
): { user: OsUser; reason: string } | { message: string } {
  if (wanted === undefined && dataDirOwner !== undefined && dataDirOwner !== 0) {
    const owner = userWithUid(passwd, dataDirOwner);
    if (owner !== undefined) {
      return { user: owner, reason: "running as root; this user owns the data directory" };
    }
  }
  if (wanted !== undefined) {
    const user = parsePasswd(passwd, wanted);
    if (user !== undefined) return { user, reason: "running as root; this user was requested" };
    return {
      message: `Running as root but there is no "${wanted}" system user to run PostgreSQL as`,
    };
  }
  const postgres = parsePasswd(passwd, "postgres");
  if (postgres !== undefined) {
    return { user: postgres, reason: "running as root, which PostgreSQL refuses" };
  }
  const nobody = parsePasswd(passwd, "nobody");
  if (nobody !== undefined) {
    return {
      user: nobody,
      reason: 'running as root, which PostgreSQL refuses, and there is no "postgres" system user',
    };
  }
  return {
    message: 'Running as root but there is no "postgres" or "nobody" system user to run ' +
      "PostgreSQL as: create one (`useradd --system postgres`) or run as a non-root user",
  };
}

/**
 * Decides how to run server binaries: as ourselves unless we are root, else as `postgres`,
 * else as `nobody` (see the module header). Says which OS user and why, for the startup log;
 * an error message when root has no usable user.
 */
export function resolveRunAs(options: ResolveRunAsOptions = {}): ResolvedRunAs {
  const uid = options.uid ?? process.getuid?.();
  if (uid !== 0) {
    const user = { name: ownName(uid), reason: "not running as root" };
    return { ok: true, runAs: { kind: "self" }, user };
  }
  const picked = pickUser(options.passwd ?? readPasswd(), options.user, options.dataDirOwner);
  if ("message" in picked) return { ok: false, message: picked.message };
  const { user, reason } = picked;
  const chosen = { name: user.name, reason };
  const hasCommand = options.hasCommand ?? onPath;
  for (const via of ["setpriv", "runuser"] as const) {
    if (hasCommand(via)) return { ok: true, runAs: { kind: "user", user, via }, user: chosen };
  }
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
