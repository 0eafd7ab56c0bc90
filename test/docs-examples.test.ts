import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { temporaryDirectory } from './helpers/reference.js';

const ROOT = resolve('.');
const DOCUMENTS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

interface CodeBlock {
  document: string;
  /** 1-based line of the first line of code, below the opening fence. */
  line: number;
  code: string;
}

/** Extracts every fenced block marked `ts` from a Markdown document. */
function typeScriptBlocks(document: string): CodeBlock[] {
  const lines = readFileSync(join(ROOT, document), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue;
    const end = lines.findIndex((line, j) => j > i && line.trim() === '```');
    blocks.push({ document, line: i + 2, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

// README snippets that continue an earlier one (no import of their own) cannot compile alone.
const blocks = DOCUMENTS.flatMap(typeScriptBlocks).filter((block) => block.document !== 'README.md' || block.code.includes("from 'porchlight'"));
const folder = temporaryDirectory();

afterAll(() => folder.remove());

describe('documentation examples', () => {
  it('api reference has examples', () => {
    expect(blocks.filter((block) => block.document === 'docs/api.md').length).toBeGreaterThan(10);
  });

  it('every ts block type-checks', async () => {
    // Each block is its own ES module that imports `porchlight`, mapped to the sources under test, and
    // the project's dependencies (vitest, better-sqlite3) through a link to its node_modules.
    symlinkSync(join(ROOT, 'node_modules'), join(folder.path, 'node_modules'), 'dir');
    blocks.forEach((block, index) => writeFileSync(join(folder.path, `block-${index}.ts`), `${block.code}\nexport {};\n`));
    writeFileSync(join(folder.path, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(folder.path, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022'],
        strict: true,
        noUncheckedIndexedAccess: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
        paths: { porchlight: [join(ROOT, 'src/index.ts')] },
      },
      // The kernel's WebAssembly declarations are global, so they are listed, not imported.
      include: ['block-*.ts', join(ROOT, 'src/types/*.d.ts')],
    }));

    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const output = await promisify(execFile)(process.execPath, [tsc, '-p', join(folder.path, 'tsconfig.json')]).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );

    // Points each compiler message at the document and line of the example.
    const located = output.split('\n').filter((line) => line.length > 0).map((line) => {
      const match = /block-(\d+)\.ts\((\d+),(\d+)\): (.*)$/.exec(line);
      if (match === null) return line;
      const block = blocks[Number(match[1])]!;
      return `${block.document}:${block.line + Number(match[2]) - 1}:${match[3]}: ${match[4]}`;
    });
    expect(located).toEqual([]);
  });
});
