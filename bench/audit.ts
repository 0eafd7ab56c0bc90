// Audit log: append (its own commit, and 1,000 to a transaction as the face and config stores do
// inside their own transactions) and verify of PORCHLIGHT_BENCH_AUDIT_RECORDS records (default
// 100,000), beside reading the same rows without hashing and hashing without reading.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Bench } from 'tinybench';

import { auditHash } from '../src/audit/audit-hash.js';
import { openStorage } from '../src/storage-manager.js';
import { markdownTable } from './machine.js';

function recordCount(): number {
  const value = Number(process.env.PORCHLIGHT_BENCH_AUDIT_RECORDS ?? 100_000);
  if (!Number.isInteger(value) || value < 1) throw new Error(`PORCHLIGHT_BENCH_AUDIT_RECORDS must be a positive integer, got ${process.env.PORCHLIGHT_BENCH_AUDIT_RECORDS}`);
  return value;
}

function bestOf(attempts: number, run: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

export async function run(): Promise<void> {
  const count = recordCount();
  const directory = mkdtempSync(join(tmpdir(), 'porchlight-bench-audit-'));
  try {
    const storage = await openStorage({ dataDirectory: directory });
    const { audit, database } = storage;
    let next = 0;
    const entry = () => ({ actor: 'bench', action: 'person.updated', target: `person${next % 1000}`, details: { changes: { name: { from: `Name ${next}`, to: `Name ${++next}` } } } });

    const append = new Bench({ time: 2000, iterations: 50, warmupIterations: 5 });
    append
      .add('audit.append, own commit', () => { audit.append(entry()); })
      .add('audit.append, 1,000 per transaction', () => { database.transaction(() => { for (let i = 0; i < 1000; i++) audit.append(entry()); })(); });
    await append.run();
    const appendTable: (string | number)[][] = [['operation', 'median ms', 'p99 ms', 'records/s (from mean)']];
    append.tasks.forEach((task, index) => {
      const latency = (task.result as { latency: { mean: number; p50: number; p99: number } }).latency;
      appendTable.push([task.name, latency.p50.toFixed(4), latency.p99.toFixed(4), Math.round((index === 0 ? 1 : 1000) * 1000 / latency.mean)]);
    });
    process.stdout.write(`${markdownTable(appendTable)}\n\n`);

    // Fill up to `count` records, then time verify() against its two halves.
    const existing = audit.verify().checked;
    for (let written = existing; written < count;) {
      const batch = Math.min(1000, count - written);
      database.transaction(() => { for (let i = 0; i < batch; i++) audit.append(entry()); })();
      written += batch;
    }
    const checked = audit.verify().checked;
    const verifyMs = bestOf(3, () => {
      if (!audit.verify().valid) throw new Error('the benchmark chain does not verify');
    });
    const readMs = bestOf(3, () => {
      for (const row of database.prepare('SELECT id, time, actor, action, target, details, previous_hash, hash FROM audit_log ORDER BY id').raw().iterate()) void row;
    });
    const rows = database.prepare('SELECT id, time, actor, action, target, details, previous_hash FROM audit_log ORDER BY id').raw().all() as [number, number, string, string, string, string, string][];
    const hashMs = bestOf(3, () => {
      for (const [id, time, actor, action, target, details, previousHash] of rows) auditHash(id, time, actor, action, target, details, previousHash);
    });
    const verifyTable: (string | number)[][] = [['step', 'records', 'ms (best of 3)', 'µs per record']];
    verifyTable.push(['audit.verify()', checked, verifyMs.toFixed(1), (verifyMs * 1000 / checked).toFixed(2)]);
    verifyTable.push(['floor: read the rows only', checked, readMs.toFixed(1), (readMs * 1000 / checked).toFixed(2)]);
    verifyTable.push(['floor: auditHash of rows already in memory', checked, hashMs.toFixed(1), (hashMs * 1000 / checked).toFixed(2)]);
    process.stdout.write(`${markdownTable(verifyTable)}\n`);
    await storage.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
