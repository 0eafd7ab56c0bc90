/**
 * The logging surface Porchlight uses: the subset of pino's API that it calls, so a pino logger (or
 * any object with these methods) can be passed as `logger`. The default discards everything.
 */
export interface LogFn {
  (object: Record<string, unknown>, message?: string): void;
  (message: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const discard: LogFn = () => {};

export const noopLogger: Logger = Object.freeze({
  trace: discard,
  debug: discard,
  info: discard,
  warn: discard,
  error: discard,
  fatal: discard,
  child: () => noopLogger,
});
