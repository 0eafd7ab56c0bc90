import { cpus } from 'node:os';

/** One line naming the date, the CPU model, the core count and the Node.js version of a run. */
export function machineDescription(): string {
  const cores = cpus();
  return `date ${new Date().toISOString()}; ${cores.length} cores (nproc); ${cores[0]?.model ?? 'unknown CPU'}; Node.js ${process.version}`;
}

/** Formats a table of rows (the first row is the header) as Markdown. */
export function markdownTable(rows: (string | number)[][]): string {
  const text = rows.map((row) => row.map(String));
  const widths = text[0]!.map((_, column) => Math.max(...text.map((row) => row[column]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(text[0]!), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...text.slice(1).map(line)].join('\n');
}
