// Configuration get and set: a 2 KB camera document, latest and an old version read, and set, which
// writes a version and its audit record in one transaction (one fsync with the default durability).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Bench } from 'tinybench';

import { openStorage } from '../src/storage-manager.js';
import { markdownTable } from './machine.js';

function camerasDocument(fps: number): Record<string, unknown> {
  return Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`camera${i}`, {
    url: `rtsp://192.0.2.${i}:554/stream`,
    fps,
    detect: { person: true, car: i % 2 === 0, dog: false, threshold: 0.7 },
    zones: [`zone${i}a`, `zone${i}b`],
    record: { enabled: true, retainDays: 14 },
  }]));
}

export async function run(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'porchlight-bench-config-'));
  try {
    const storage = await openStorage({ dataDirectory: directory });
    const size = JSON.stringify(camerasDocument(5)).length;
    for (let version = 1; version <= 100; version++) storage.config.set('cameras', camerasDocument(version), { author: 'bench' });

    let fps = 100;
    const bench = new Bench({ time: 2000, iterations: 50, warmupIterations: 5 });
    bench
      .add('config.get latest', () => { storage.config.get('cameras'); })
      .add('config.get version 50', () => { storage.config.get('cameras', { version: 50 }); })
      .add('config.set (version + audit record, one commit)', () => { storage.config.set('cameras', camerasDocument(++fps), { author: 'bench' }); })
      .add('config.diff of two versions', () => { storage.config.diff('cameras', 10, 90); });
    await bench.run();

    const table: (string | number)[][] = [['operation', 'median ms', 'p99 ms', 'ops/s (from mean)']];
    for (const task of bench.tasks) {
      const latency = (task.result as { latency: { mean: number; p50: number; p99: number } }).latency;
      table.push([task.name, latency.p50.toFixed(4), latency.p99.toFixed(4), Math.round(1000 / latency.mean)]);
    }
    process.stdout.write(`Document of ${size} characters of JSON, 100+ versions stored:\n\n${markdownTable(table)}\n`);
    await storage.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
