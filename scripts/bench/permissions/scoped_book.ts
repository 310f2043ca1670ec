/**
 * Book-keeping of the permissions benchmark, where every write is for one project and reaches
 * only that project's users: which users should receive a sample, when each did, and every
 * row that reached a user it was not for (in the initial data or live), which fails the run.
 *
 * Write s is for project s mod projects and carries marker MARKER_BASE + s; user u is a member
 * of project u mod projects and is the (u div projects)-th member of it.
 */
import { MARKER_BASE } from "../sync/writer.ts";

export class ScopedLatencyBook {
  readonly commitAt: Float64Array;
  /** Rows that reached a user of another project, and one example. */
  leaks = 0;
  leakExample = "";
  readonly #recv: Float64Array;
  readonly #perProject: number;
  #received = 0;
  readonly #expected: number;

  constructor(
    readonly samples: number,
    readonly projects: number,
    usersPerProject: number,
    readonly warmup: number,
  ) {
    this.#perProject = usersPerProject;
    this.commitAt = new Float64Array(samples).fill(NaN);
    this.#recv = new Float64Array(samples * usersPerProject).fill(NaN);
    this.#expected = (samples - warmup) * usersPerProject;
  }

  /** The project write `sample` is for. */
  projectOf(sample: number): number {
    return sample % this.projects;
  }

  /** User `user` handled a transaction carrying `marker`. */
  received(user: number, marker: number): void {
    const sample = marker - MARKER_BASE;
    if (sample < 0 || sample >= this.samples) return;
    if (this.projectOf(sample) !== user % this.projects) {
      if (this.leaks++ === 0) {
        this.leakExample = `write ${sample} (project ${
          this.projectOf(sample)
        }) reached user ${user}`;
      }
      return;
    }
    const at = sample * this.#perProject + Math.floor(user / this.projects);
    if (this.#recv[at] === this.#recv[at]) return; // already seen (NaN !== NaN)
    this.#recv[at] = performance.now();
    if (sample >= this.warmup) this.#received++;
  }

  /** Every measured write reached every member of its project. */
  get complete(): boolean {
    return this.#received >= this.#expected;
  }

  /** Latencies in ms over the users who should receive each measured write, and the missing. */
  latencies(): { values: number[]; lost: number } {
    const values: number[] = [];
    let lost = 0;
    for (let s = this.warmup; s < this.samples; s++) {
      const commit = this.commitAt[s];
      for (let slot = 0; slot < this.#perProject; slot++) {
        const recv = this.#recv[s * this.#perProject + slot];
        if (recv !== recv || commit !== commit) lost++;
        else values.push(Math.max(0, recv - commit));
      }
    }
    return { values, lost };
  }
}

/**
 * What one user's initial data held: rows of issues, their sum of n, and those of another
 * project; rows of other tables (the project row the issues reference, which subscription
 * data carries along) are only counted.
 */
export class InitialTally {
  rows = 0;
  sum = 0;
  foreign = 0;
  otherTables = 0;

  constructor(
    readonly project: number,
    readonly projects: number,
    readonly issuesRelation: number,
  ) {}

  row(n: number, relationId: number): void {
    if (relationId !== this.issuesRelation) {
      this.otherTables++;
      return;
    }
    this.rows++;
    this.sum += n;
    if (n < 0 || n % this.projects !== this.project) this.foreign++;
  }

  /** Why this is not exactly the project's rows (`expected` from Postgres), or undefined. */
  mismatch(expected: { rows: number; sum: number }): string | undefined {
    if (this.foreign > 0) return `${this.foreign} rows of other projects`;
    if (this.rows !== expected.rows) return `${this.rows} rows instead of ${expected.rows}`;
    if (this.sum !== expected.sum) return `sum of n ${this.sum} instead of ${expected.sum}`;
    return undefined;
  }
}
