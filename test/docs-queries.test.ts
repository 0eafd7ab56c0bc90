import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EventQuery } from '../src/events/event-types.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { temporaryDirectory } from './helpers/reference.js';

/** One query of docs/queries-and-indexes.md with the plan the page shows for it. */
interface DocumentedPlan {
  kind: 'json' | 'sql';
  query: string;
  plan: string[];
  /** 1-based line of the query block, for failure messages. */
  line: number;
}

/** Pairs each ```json query or ```sql query block with the ```text plan block after it. */
function documentedPlans(): DocumentedPlan[] {
  const lines = readFileSync('docs/queries-and-indexes.md', 'utf8').split('\n');
  const plans: DocumentedPlan[] = [];
  let pending: Omit<DocumentedPlan, 'plan'> | undefined;

  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(json|sql|text) (query|plan)$/.exec(lines[i]!);
    if (fence === null) continue;
    const end = lines.findIndex((line, j) => j > i && line === '```');
    const body = lines.slice(i + 1, end);

    if (fence[2] === 'query') pending = { kind: fence[1] as 'json' | 'sql', query: body.join('\n'), line: i + 1 };
    if (fence[2] === 'plan' && pending !== undefined) {
      plans.push({ ...pending, plan: body });
      pending = undefined;
    }
    i = end;
  }
  return plans;
}

const directory = temporaryDirectory();
let storage: StorageManager;

beforeAll(async () => {
  storage = await openStorage({ dataDirectory: directory.path });
  // A few events, so the cursor example has a real next page to point at.
  storage.events.storeEvents(Array.from({ length: 120 }, (_, i) => ({ type: 'person', source: 'front_door', timestamp: Date.UTC(2026, 9, 1) + i * 1000 })));
});

afterAll(async () => {
  await storage.close();
  directory.remove();
});

function actualPlan(entry: DocumentedPlan): string[] {
  if (entry.kind === 'sql') {
    const parameters = entry.query.match(/\?/g)?.length ?? 0;
    return storage.database.prepare(`EXPLAIN QUERY PLAN ${entry.query}`).all(...new Array(parameters).fill(null)).map((row) => (row as { detail: string }).detail);
  }

  const query = JSON.parse(entry.query) as EventQuery;
  if (query.cursor === '<next page>') {
    const { cursor: _, ...first } = query;
    query.cursor = storage.events.queryEvents(first).nextCursor!;
  }
  return storage.events.explainQuery(query);
}

describe('docs/queries-and-indexes.md', () => {
  const plans = documentedPlans();

  it('shows plans for many queries', () => {
    expect(plans.length).toBeGreaterThan(15);
  });

  for (const entry of plans) {
    it(`plan at line ${entry.line} is current`, () => {
      expect({ line: entry.line, plan: actualPlan(entry) }).toEqual({ line: entry.line, plan: entry.plan });
    });
  }
});
