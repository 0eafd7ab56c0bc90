import { parseArgs } from 'node:util';

import type { Enrollment } from '../../faces/face-database.js';
import { UsageError, writeLine, type CliCommand } from '../command.js';

const USAGE = `Usage: porchlight demo [--persons N] [--probes N]

Enrolls synthetic 128-d identities (3 encodings each, a tenth of them blacklisted) under the model
"demo", reopens the storage to reload the index from SQLite, identifies noisy probe photos of them and
prints the matches and timings. Running it again replaces the earlier demo persons.`;

const DIMENSION = 128;
const ENCODINGS_PER_PERSON = 3;
/** Per-component spread of identity centers and of photo noise, chosen so that photos of one person lie about 0.3 apart and different persons about 1.3 apart, as dlib encodings do. */
const CENTER_SIGMA = 0.08;
const NOISE_SIGMA = 0.02;

/** Seeded normal variates (mulberry32 and Box-Muller), so every run enrolls the same faces. */
function normalGenerator(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'enroll synthetic identities, search them and print matches and timings',
  usage: USAGE,
  async run(context) {
    const { values } = parseArgs({ args: context.args, options: { persons: { type: 'string' }, probes: { type: 'string' }, help: { type: 'boolean' } }, strict: true });
    if (values.help === true) {
      writeLine(context.stdout, USAGE);
      return 0;
    }
    const personCount = Number(values.persons ?? 1000);
    const probeCount = Number(values.probes ?? 1000);
    if (!Number.isInteger(personCount) || personCount < 1) throw new UsageError(`--persons must be a positive integer, got "${values.persons}"`);
    if (!Number.isInteger(probeCount) || probeCount < 1) throw new UsageError(`--probes must be a positive integer, got "${values.probes}"`);

    const normal = normalGenerator(42);
    const centers = Array.from({ length: personCount }, () => Float32Array.from({ length: DIMENSION }, () => normal() * CENTER_SIGMA));
    const photo = (center: Float32Array): Float32Array => center.map((value) => value + normal() * NOISE_SIGMA);
    const enrollments: Enrollment[] = centers.map((center, i) => ({
      person: {
        id: `demo-${String(i).padStart(5, '0')}`,
        name: `Demo Person ${i}`,
        list: i % 10 === 9 ? 'blacklist' : 'known',
        ...(i % 10 === 9 ? { reason: 'demo: seen tampering with parcels' } : {}),
      },
      encodings: Array.from({ length: ENCODINGS_PER_PERSON }, () => photo(center)),
    }));

    writeLine(context.stdout, `data directory: ${context.dataDirectory}`);
    let started = performance.now();
    const first = await context.openStorage();
    for (const person of first.faces.listPersons()) {
      if (person.id.startsWith('demo-')) first.faces.removePerson(person.id);
    }
    const enrolled = first.faces.enrollMany(enrollments, { model: 'demo' });
    writeLine(context.stdout, `enrolled ${enrolled.personsAdded} persons with ${enrolled.encodingIds.length} encodings of ${DIMENSION} dimensions in ${(performance.now() - started).toFixed(1)} ms`);
    await first.close();

    started = performance.now();
    const storage = await context.openStorage();
    writeLine(context.stdout, `reopened the storage and reloaded the index from SQLite in ${(performance.now() - started).toFixed(1)} ms`);

    const timings: number[] = [];
    let correct = 0;
    let blacklistHits = 0;
    for (let i = 0; i < probeCount; i++) {
      const person = i % personCount;
      const probe = photo(centers[person]!);
      const searchStarted = performance.now();
      const matches = await storage.faces.searchFaces(probe, { k: 3, model: 'demo' });
      timings.push(performance.now() - searchStarted);
      if (matches[0]?.personId === enrollments[person]!.person.id) correct += 1;
      if (matches[0]?.list === 'blacklist') blacklistHits += 1;
      if (i < 3) {
        writeLine(context.stdout, `probe of ${enrollments[person]!.person.name}:`);
        for (const match of matches) {
          writeLine(context.stdout, `  ${match.name} (${match.list})  distance ${match.distance.toFixed(4)}  confidence ${match.confidence.toFixed(3)}`);
        }
      }
    }

    timings.sort((a, b) => a - b);
    writeLine(context.stdout, `identified ${correct} of ${probeCount} probes correctly; ${blacklistHits} matched a blacklisted person`);
    writeLine(context.stdout, `search over ${enrolled.encodingIds.length} encodings: median ${percentile(timings, 0.5).toFixed(3)} ms, p99 ${percentile(timings, 0.99).toFixed(3)} ms`);
    return correct === probeCount ? 0 : 1;
  },
};
