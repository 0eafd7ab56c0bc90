// Opens the storage in the folder given as the first argument, in a fresh process, and prints one
// JSON line with the time openStorage took and the resident memory before and after. With
// --expose-gc, both memory readings follow a full garbage collection.
import { openStorage } from '../src/storage-manager.js';

const directory = process.argv[2];
if (directory === undefined) {
  process.stderr.write('usage: open-storage-child DATA_DIRECTORY\n');
  process.exit(2);
}

const collect = (globalThis as { gc?: () => void }).gc;
collect?.();
const before = process.memoryUsage().rss;
const started = performance.now();
const storage = await openStorage({ dataDirectory: directory });
const openMs = performance.now() - started;
collect?.();
const after = process.memoryUsage().rss;
const encodings = storage.faces.indexOf()?.size ?? 0;
await storage.close();
process.stdout.write(`${JSON.stringify({ openMs, rssBefore: before, rssAfter: after, encodings })}\n`);
