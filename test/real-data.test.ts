import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readNpy, npyRows } from '../src/import/npy.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { readFvecs, readIvecs, referenceRanking, temporaryDirectory } from './helpers/reference.js';

const BIGANN = '../shared/data/bigann10k';
const LFW = '../shared/data/lfw-facenet512';

function squaredL2(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return sum;
}

describe('bigann10k', () => {
  const base = readFvecs(`${BIGANN}/base.fvecs`);
  const queries = readFvecs(`${BIGANN}/query.fvecs`);
  const groundTruth = readIvecs(`${BIGANN}/groundtruth.ivecs`);
  const directory = temporaryDirectory();
  let storage: StorageManager;

  beforeAll(async () => {
    storage = await openStorage({ dataDirectory: directory.path });
    storage.faces.enrollMany(base.map((vector, i) => ({ person: { id: String(i), name: `sift ${i}`, list: 'known' as const }, encodings: [vector] })), { model: 'sift' });
    await storage.close();
    storage = await openStorage({ dataDirectory: directory.path });
  });

  afterAll(async () => {
    await storage.close();
    directory.remove();
  });

  it('top 100 equals ground truth', async () => {
    expect(storage.faces.indexOf('sift')?.size).toBe(10_000);
    for (const [q, query] of queries.entries()) {
      const matches = await storage.faces.searchFaces(query, { k: 100, threshold: Number.POSITIVE_INFINITY, model: 'sift' });
      const expected = Array.from(groundTruth[q]!, (row) => squaredL2(base[row]!, query));
      const actual = matches.map((match) => Math.round(match.distance ** 2));

      // Distances are integers, so equal sorted distance lists mean the same neighbours up to ties.
      expect(actual, `query ${q}`).toEqual(expected);
      for (const match of matches) expect(squaredL2(base[Number(match.personId)]!, query)).toBe(Math.round(match.distance ** 2));
    }
  });
});

describe('lfw facenet512', () => {
  const embeddings = npyRows(readNpy(`${LFW}/lfw_embeddings.npy`), 'lfw_embeddings.npy') as Float32Array[];
  const labels = readNpy(`${LFW}/lfw_labels.npy`).data as string[];
  const directory = temporaryDirectory();
  const lastRowOf = new Map<string, number>();
  const countOf = new Map<string, number>();
  labels.forEach((label, row) => {
    lastRowOf.set(label, row);
    countOf.set(label, (countOf.get(label) ?? 0) + 1);
  });
  const heldOut = [...lastRowOf.entries()].filter(([label]) => countOf.get(label)! >= 2).map(([, row]) => row);
  const enrolledRows = labels.map((_, row) => row).filter((row) => !heldOut.includes(row));

  it('held-out photos find their person', async () => {
    const first = await openStorage({ dataDirectory: directory.path, faces: { metric: 'cosine' } });
    const byLabel = new Map<string, Float32Array[]>();
    for (const row of enrolledRows) byLabel.set(labels[row]!, [...(byLabel.get(labels[row]!) ?? []), embeddings[row]!]);
    first.faces.enrollMany([...byLabel].map(([label, encodings]) => ({ person: { id: label, name: label.replaceAll('_', ' '), list: 'known' as const }, encodings })), { model: 'facenet512' });
    await first.close();

    const storage = await openStorage({ dataDirectory: directory.path });
    try {
      expect(heldOut.length).toBe(213);
      let agreeing = 0;
      for (const row of heldOut) {
        const reference = referenceRanking(enrolledRows.map((r) => embeddings[r]!), embeddings[row]!, 'cosine');
        const referenceLabel = labels[enrolledRows[reference[0]!.row]!]!;
        const [match] = await storage.faces.searchFaces(embeddings[row]!, { k: 1, threshold: 2, model: 'facenet512' });
        expect(match?.personId, `row ${row}`).toBe(referenceLabel);
        expect(match!.distance).toBeCloseTo(reference[0]!.distance, 5);
        if (referenceLabel === labels[row]) agreeing += 1;
      }
      // Guards against misread data: 167 of the 213 held-out photos (78.4 %) have their own person
      // nearest in the float64 reference.
      expect(agreeing).toBe(167);
    } finally {
      await storage.close();
      directory.remove();
    }
  });
});
