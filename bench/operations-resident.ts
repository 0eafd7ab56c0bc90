// Child process of the operations benchmark: opens a storage as a service would. For the given number
// of seconds it records ten metric points every 100 ms and runs one face search and one event query a
// second, while sampling its resident memory.
// Prints one JSON line with the figures.
import { setTimeout as sleep } from 'node:timers/promises';

import { openStorage } from '../src/storage-manager.js';

const [dataDirectory, secondsArgument] = process.argv.slice(2);
const seconds = Number(secondsArgument);
const storage = await openStorage({ dataDirectory: dataDirectory!, cleanup: { intervalMinutes: 0 } });

let maxRssBytes = process.memoryUsage.rss();
const sampler = setInterval(() => {
  maxRssBytes = Math.max(maxRssBytes, process.memoryUsage.rss());
}, 100);

const metricNames = ['camera.fps', 'detector.latency_ms', 'cpu.percent', 'memory.rss_mb', 'queue.depth', 'disk.free_gb', 'temperature.c', 'network.rx_kbps', 'network.tx_kbps', 'camera.dropped_frames'];
let points = 0;
const recorder = setInterval(() => {
  for (const name of metricNames) storage.metrics.record(name, Math.random() * 100, { tags: { host: 'doorbell' } });
  points += metricNames.length;
}, 100);

const probe = new Float32Array(128).fill(0.02);
let searches = 0;
let queries = 0;
for (let second = 0; second < seconds; second++) {
  await storage.faces.searchFaces(probe, { k: 3, threshold: 10 });
  searches += 1;
  storage.events.queryEvents({ sources: ['front_door'], limit: 50 });
  queries += 1;
  await sleep(1000);
}

clearInterval(sampler);
clearInterval(recorder);
const finalRssBytes = process.memoryUsage.rss();
const heapUsedBytes = process.memoryUsage().heapUsed;
await storage.close();
process.stdout.write(`${JSON.stringify({ maxRssBytes: Math.max(maxRssBytes, finalRssBytes), finalRssBytes, heapUsedBytes, searches, queries, points })}\n`);
