import type { Logger } from '../logger.js';

/** The outcome of a scheduled task's last run. */
export interface ScheduledRun {
  /** ISO 8601, UTC. */
  startedAt: string;
  durationMs: number;
  ok: boolean;
  /** The error's message when the run failed. */
  error: string | undefined;
}

export interface SchedulerOptions {
  /** Name in log records, for example `backup`. */
  name: string;
  /** Milliseconds until the next run, computed after start and after every run. */
  nextDelayMs: () => number;
  task: () => Promise<unknown>;
  logger: Logger;
}

/**
 * Runs a task again and again, one run at a time, with the delay before each run chosen by the caller.
 * The timer is unref'd, so a scheduler never keeps a process alive. A failed run has no caller to
 * throw to, so it is logged at error level and kept in `lastRun` for the health check.
 */
export class Scheduler {
  readonly #options: SchedulerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #lastRun: ScheduledRun | undefined;

  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  get lastRun(): ScheduledRun | undefined {
    return this.#lastRun;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#arm();
  }

  /** Stops the timer and waits for a run in progress to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #arm(): void {
    if (this.#stopped) return;
    const delay = Math.max(0, this.#options.nextDelayMs());
    // setTimeout takes at most 2^31 - 1 ms; a longer delay re-arms when that one fires.
    const capped = Math.min(delay, 2 ** 31 - 1);
    this.#timer = setTimeout(() => {
      if (capped < delay) {
        this.#arm();
        return;
      }
      this.#running = this.#run().finally(() => {
        this.#running = undefined;
        this.#arm();
      });
    }, capped);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    const started = performance.now();
    const startedAt = new Date().toISOString();
    const { name, logger } = this.#options;
    try {
      await this.#options.task();
      this.#lastRun = { startedAt, durationMs: performance.now() - started, ok: true, error: undefined };
    } catch (error) {
      this.#lastRun = { startedAt, durationMs: performance.now() - started, ok: false, error: (error as Error).message };
      logger.error({ task: name, err: error }, 'scheduled task failed');
    }
  }
}
