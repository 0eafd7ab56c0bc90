import type { VectorInput } from '../faces/face-index.js';
import type { RecordLocation } from './record-location.js';

/** File formats that face encodings are imported from. */
export type EncodingFormat = 'npy' | 'json' | 'jsonl' | 'csv';

export const ENCODING_FORMATS: readonly EncodingFormat[] = Object.freeze(['npy', 'json', 'jsonl', 'csv']);

/** One encoding read from a file, with the person it belongs to. The vector is not checked yet. */
export interface EncodingRecord {
  kind: 'record';
  location: RecordLocation;
  personId: string;
  name: string;
  vector: VectorInput;
}

/** A record the reader could not interpret, with the reason. */
export interface RejectedRecord {
  kind: 'rejected';
  location: RecordLocation;
  reason: string;
}

/** The result of reading one record: an encoding record or a rejection, in file order. */
export type EncodingEntry = EncodingRecord | RejectedRecord;

/**
 * Interprets one JSON object as an encoding record. The person id comes from `person`, or `name` when
 * `person` is absent; the display name from `name`, else the id. The vector comes from `encoding` or
 * `embedding`, the keys that face_recognition and DeepFace scripts write.
 */
export function entryFromObject(value: unknown, location: RecordLocation): EncodingEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'rejected', location, reason: `expected an object { "person": "id", "encoding": [numbers] }, got ${describeJson(value)}.` };
  }

  const object = value as Record<string, unknown>;
  const personId = object.person ?? object.name;
  if (typeof personId !== 'string') {
    return { kind: 'rejected', location, reason: `"person" (or "name") must be a string, got ${describeJson(personId)}.` };
  }
  const name = typeof object.name === 'string' ? object.name : personId;

  const vector = object.encoding ?? object.embedding;
  if (!Array.isArray(vector)) {
    return { kind: 'rejected', location, reason: `"encoding" (or "embedding") must be an array of numbers, got ${describeJson(vector)}.` };
  }
  return { kind: 'record', location, personId, name, vector: vector as number[] };
}

/** Renders a value as JSON for messages, cut at 60 characters. */
export function describeJson(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
