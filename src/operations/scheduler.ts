import type { Logger } from '../logger.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

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

  /** Sets the timer for the next run; `remainingMs` continues a delay longer than one timer allows. */
  #arm(remainingMs?: number): void {
    if (this.#stopped) return;
    const delay = remainingMs ?? Math.max(0, this.#options.nextDelayMs());
    // setTimeout takes at most 2^31 - 1 ms; the rest of a longer delay is waited for by the next timer.
    if (remainingMs === undefined) this.#options.logger.debug({ task: this.#options.name, delayMs: delay }, 'next run scheduled');
    const step = Math.min(delay, MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      if (step < delay) {
        this.#arm(delay - step);
        return;
      }
      this.#running = this.#run().finally(() => {
        this.#running = undefined;
        this.#arm();
      });
    }, step);
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
