import { invalidArgument, showValue } from '../errors.js';
import { checkMigrateOptions, partialRunOf, withPartialRun, type MigrateDownOptions, type MigrateUpOptions, type MigrationRun, type MigrationStatus, type Migrator } from './migrator.js';

/** One database file and the runner of the stores it holds. */
export interface MigrationFile {
  path: string;
  /** The file's stores, in the order their migrations are applied. */
  stores: readonly string[];
  migrator: Migrator;
}

/** The result of a `MigrationSet` run: the steps of every file, and every copy taken before them. */
export interface MigrationSetRun extends MigrationRun {
  /** One path per database file that was copied before it changed, in the order the files ran. */
  backupPaths: string[];
}

/**
 * Applies and reverts the migrations of every database file of one storage. The configuration may
 * put stores in files of their own. A call for one store goes to the runner of that store's file, and
 * a call for all stores runs each file in turn (`up` from the main file on, `down` in reverse). Each
 * file keeps its own history, lock and backup.
 */
export class MigrationSet {
  readonly #files: readonly MigrationFile[];
  readonly #stores: readonly string[];
  readonly #onRun: ((run: MigrationSetRun) => void) | undefined;

  /** `onRun` is called after each `up` or `down` that changed something, also one that failed part-way, for example to audit it. */
  constructor(files: readonly MigrationFile[], options: { onRun?: (run: MigrationSetRun) => void } = {}) {
    this.#files = files;
    this.#stores = files.flatMap((file) => file.stores);
    this.#onRun = options.onRun;
  }

  /** The database files and their stores, in the order `up` runs them. */
  get files(): readonly MigrationFile[] {
    return this.#files;
  }

  /** Returns every migration of every store with its state, file by file, in the order `up` applies them. */
  status(): MigrationStatus[] {
    return this.#files.flatMap((file) => file.migrator.status());
  }

  /** Returns the highest version of `store` recorded in its database, 0 when none. */
  currentVersion(store: string): number {
    return this.#fileOf(store, 'store').migrator.currentVersion(store);
  }

  /**
   * Applies pending migrations up to `options.to` in every file, or in the file of `options.store`.
   * Every file is checked first, so a refusal in one file changes none of them.
   */
  async up(options: MigrateUpOptions = {}): Promise<MigrationSetRun> {
    checkMigrateOptions(options, 'up');
    const files = options.store === undefined ? this.#files : [this.#fileOf(options.store, 'options.store')];
    this.#checkTarget(options);
    for (const file of files) file.migrator.checkUp(options);
    return this.#run('up', files, (migrator) => migrator.up(options));
  }

  /**
   * Reverts applied migrations above `options.to`, newest file first, or in the file of `options.store`.
   * Every file is checked first, so a refusal in one file changes none of them.
   */
  async down(options: MigrateDownOptions): Promise<MigrationSetRun> {
    checkMigrateOptions(options, 'down');
    const files = options.store === undefined ? [...this.#files].reverse() : [this.#fileOf(options.store, 'options.store')];
    this.#checkTarget(options);
    for (const file of files) file.migrator.checkDown(options);
    return this.#run('down', files, (migrator) => migrator.down(options));
  }

  /**
   * Runs each file in turn. When one fails, the steps already done (in earlier files and in the
   * failing one) are passed to `onRun` and attached to the error, which is then thrown.
   */
  async #run(direction: 'up' | 'down', files: readonly MigrationFile[], step: (migrator: Migrator) => Promise<MigrationRun>): Promise<MigrationSetRun> {
    const runs: MigrationRun[] = [];
    try {
      for (const file of files) runs.push(await step(file.migrator));
    } catch (error) {
      const partial = partialRunOf(error);
      const done = combine(direction, partial === undefined ? runs : [...runs, partial]);
      try {
        this.#report(done);
      } catch (recordError) {
        throw new AggregateError([error, recordError], `A migration run failed after ${done.steps.length} committed step(s), and writing their audit records failed too. The steps stay applied; check status() and the second error before running again.`);
      }
      throw withPartialRun(error, done);
    }
    const run = combine(direction, runs);
    this.#report(run);
    return run;
  }

  /**
   * Rejects a `to` above every store's latest version when no store is named, as each file's runner
   * does for a named store. It cannot check this itself: its own stores may end below another file's.
   */
  #checkTarget(options: MigrateUpOptions): void {
    if (options.store !== undefined || typeof options.to !== 'number') return;
    const highest = Math.max(...this.#files.flatMap((file) => file.stores.map((store) => file.migrator.latestVersion(store))));
    if (options.to > highest) {
      throw invalidArgument(`options.to is ${options.to}, but no store has a migration above version ${highest}; give a version that exists, or omit to for the latest.`, { to: options.to, highest });
    }
  }

  #report(run: MigrationSetRun): void {
    if (run.steps.length > 0 || run.backupPaths.length > 0) this.#onRun?.(run);
  }

  #fileOf(store: unknown, name: string): MigrationFile {
    const file = this.#files.find((entry) => entry.stores.includes(store as string));
    if (typeof store !== 'string' || file === undefined) {
      throw invalidArgument(`${name} must be one of ${this.#stores.join(', ')}, got ${showValue(store)}.`, { store });
    }
    return file;
  }
}

function combine(direction: 'up' | 'down', runs: readonly MigrationRun[]): MigrationSetRun {
  const backupPaths = runs.flatMap((run) => (run.backupPath === undefined ? [] : [run.backupPath]));
  return { direction, steps: runs.flatMap((run) => run.steps), backupPath: backupPaths[0], backupPaths };
}
