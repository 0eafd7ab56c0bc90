import { readFileSync } from 'node:fs';

import { ErrorCodes, ValidationError } from '../errors.js';

/** Reads a UTF-8 text file, naming it and the system error when it cannot be read. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ValidationError(ErrorCodes.INVALID_FILE, `${file}: cannot be read (${reason}); check the path.`, { cause: error, details: { file } });
  }
}

/** Parses a whole JSON document; a syntax error names the file, line and column. */
export function parseJsonDocument(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const where = lineAndColumn(text, error as Error);
    throw new ValidationError(ErrorCodes.INVALID_FILE, `${file}: is not valid JSON${where === undefined ? '' : ` at line ${where.line} column ${where.column}`} (${(error as Error).message}).`, {
      cause: error,
      details: { file, ...where },
    });
  }
}

/** Reads and parses a JSON file. */
export function readJsonFile(file: string): unknown {
  return parseJsonDocument(readTextFile(file), file);
}

/** Line and column (both 1-based) of a JSON.parse error, from the character offset V8 puts in its message. */
function lineAndColumn(text: string, error: Error): { line: number; column: number } | undefined {
  const offset = /at position (\d+)/.exec(error.message)?.[1];
  if (offset === undefined) return undefined;

  const before = text.slice(0, Number(offset));
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: Number(offset) - lastBreak };
}
