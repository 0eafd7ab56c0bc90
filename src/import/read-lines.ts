import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK = 1 << 20;
const NEWLINE = 0x0a;

/**
 * Yields the lines of a UTF-8 file with their 1-based numbers, reading 1 MiB at a time so a file
 * larger than memory can be read inside a synchronous transaction. Splitting at the newline byte is
 * safe because 0x0A never occurs inside a multi-byte UTF-8 sequence.
 */
export function* readLinesSync(path: string): Generator<{ line: number; text: string }> {
  const descriptor = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK);
    let carry = Buffer.alloc(0);
    let line = 0;
    for (;;) {
      const read = readSync(descriptor, buffer, 0, CHUNK, null);
      if (read === 0) break;

      const data = Buffer.concat([carry, buffer.subarray(0, read)]);
      let start = 0;
      for (let end = data.indexOf(NEWLINE, start); end !== -1; end = data.indexOf(NEWLINE, start)) {
        line += 1;
        yield { line, text: data.toString('utf8', start, end) };
        start = end + 1;
      }
      carry = Buffer.from(data.subarray(start));
    }
    if (carry.length > 0) yield { line: line + 1, text: carry.toString('utf8') };
  } finally {
    closeSync(descriptor);
  }
}
