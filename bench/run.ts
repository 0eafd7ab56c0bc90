// Runs the benchmark suites: `npm run bench` runs all, `npm run bench -- faces` only the named ones.
import { machineDescription } from './machine.js';

interface Suite {
  name: string;
  run(): Promise<void>;
}

const SUITES: Suite[] = [
  { name: 'faces', run: async () => (await import('./faces.js')).run() },
  { name: 'events', run: async () => (await import('./events.js')).run() },
  { name: 'metrics', run: async () => (await import('./metrics.js')).run() },
  { name: 'config', run: async () => (await import('./config.js')).run() },
  { name: 'audit', run: async () => (await import('./audit.js')).run() },
  { name: 'operations', run: async () => (await import('./operations.js')).run() },
  { name: 'tuning', run: async () => (await import('./tuning.js')).run() },
  { name: 'import', run: async () => (await import('./import.js')).run() },
  { name: 'parallel', run: async () => (await import('./parallel.js')).run() },
];

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !SUITES.some((suite) => suite.name === name));
if (unknown.length > 0) {
  process.stderr.write(`unknown suite ${unknown.join(', ')}; suites: ${SUITES.map((suite) => suite.name).join(', ')}\n`);
  process.exit(2);
}

process.stdout.write(`${machineDescription()}\n`);
for (const suite of SUITES) {
  if (requested.length > 0 && !requested.includes(suite.name)) continue;
  process.stdout.write(`\n## ${suite.name}\n`);
  await suite.run();
}
