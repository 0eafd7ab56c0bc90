import { ValidationError, invalidArgument, showValue } from '../errors.js';
import { prepareEvent } from '../events/event-input.js';
import { MAX_BATCH_SIZE } from '../events/event-store.js';
import type { NewEvent } from '../events/event-types.js';
import { checkKeys } from '../faces/face-database.js';
import { invalidRecord, type RecordLocation } from '../import/record-location.js';
import type { StorageManager } from '../storage-manager.js';
import { toEventPatch, toNewEvent } from './frigate-event-input.js';
import { openFrigateDatabase, readFrigateEventRows } from './frigate-database.js';
import { mapFrigateRow, type MappedFrigateEvent } from './map-frigate-event.js';

export interface FrigateImportOptions {
  /** Keep the base64 JPEG thumbnail of each event in `data.frigate.thumbnail`. Default false. */
  thumbnails?: boolean;
  /** A malformed row: `error` (default) rejects the import, `skip` leaves it out and lists it. */
  onInvalid?: 'error' | 'skip';
}

export interface FrigateImportSummary {
  file: string;
  /** Rows of Frigate's event table. */
  rows: number;
  /** Events stored for the first time. */
  imported: number;
  /** Events stored by an earlier import that have ended since, and were updated. */
  updated: number;
  /** Events stored by an earlier import and unchanged, so left alone. */
  unchanged: number;
  skipped: number;
  /** The first 100 skipped rows with the reason. */
  skippedRows: { location: RecordLocation; message: string }[];
  durationMs: number;
}

const OPTION_KEYS = Object.freeze(['thumbnails', 'onInvalid']);
const MAX_LISTED_SKIPS = 100;

/**
 * Imports the `event` table of a Frigate database (read-only; the file is never written) as
 * Porchlight events. The import is one transaction when the events store shares the main database
 * file, as it does by default. Each event keeps Frigate's id, so running the import again stores nothing twice: it only
 * updates events that were still in progress and have ended since.
 * Every row is mapped and checked before anything is written. The first bad one, named by its rowid
 * and event id, rejects the import unless `onInvalid` is `skip`.
 */
export function importFrigateDatabase(storage: StorageManager, path: string, options: FrigateImportOptions = {}): FrigateImportSummary {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument(`path must be the path of a Frigate database, got ${showValue(path)}.`, { path });
  if (options === null || typeof options !== 'object') throw invalidArgument('The import options must be an object.', {});
  checkKeys(options, OPTION_KEYS, 'options');
  const onInvalid = options.onInvalid ?? 'error';
  if (onInvalid !== 'error' && onInvalid !== 'skip') throw invalidArgument(`options.onInvalid must be "error" or "skip", got ${showValue(onInvalid)}.`, { onInvalid });
  if (options.thumbnails !== undefined && typeof options.thumbnails !== 'boolean') throw invalidArgument('options.thumbnails must be true or false.', {});
  const started = performance.now();

  const { events, rows, skippedRows, skipped } = readEvents(path, options.thumbnails === true, onInvalid);
  // One transaction needs the events store on the main connection, the default layout. In a file of
  // its own, each storeEvents call of up to 100,000 events commits alone, and a re-run resumes.
  const eventsFile = storage.databaseFiles.find((file) => file.stores.includes('events'));
  const written = eventsFile?.path === storage.databasePath
    ? storage.database.transaction(() => writeEvents(storage, events)).immediate()
    : writeEvents(storage, events);

  return { file: path, rows, ...written, skipped, skippedRows, durationMs: performance.now() - started };
}

/** Reads and checks every row; the Frigate database is closed before anything is written. */
function readEvents(path: string, thumbnails: boolean, onInvalid: 'error' | 'skip') {
  const db = openFrigateDatabase(path);
  const events: MappedFrigateEvent[] = [];
  const ids = new Set<string>();
  const skippedRows: { location: RecordLocation; message: string }[] = [];
  let rows = 0;
  let skipped = 0;
  const now = Date.now();

  try {
    db.transaction(() => {
      for (const row of readFrigateEventRows(db, path)) {
        rows += 1;
        const location: RecordLocation = { file: path, unit: 'rowid', index: row.rowid };
        try {
          const event = mapFrigateRow(row, location, { thumbnails });
          checkEvent(toNewEvent(event), location, event.id);
          // Frigate's primary key makes ids unique; this guards a copied or hand-made table without one.
          if (ids.has(event.id)) throw invalidRecord(location, `event id ${JSON.stringify(event.id)} occurs in an earlier row too.`);
          ids.add(event.id);
          events.push(event);
        } catch (error) {
          if (onInvalid === 'error' || !(error instanceof ValidationError)) throw error;
          skipped += 1;
          if (skippedRows.length < MAX_LISTED_SKIPS) skippedRows.push({ location, message: error.message });
        }
      }
    })();
  } finally {
    db.close();
  }
  return { events, rows, skipped, skippedRows };

  /** Runs the event store's own checks, so a row it would reject is named by its place in Frigate's table. */
  function checkEvent(event: NewEvent, location: RecordLocation, id: string): void {
    try {
      prepareEvent(event, 'event', now);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw invalidRecord(location, `event ${JSON.stringify(id)}: ${error.message}`, { code: error.code, cause: error });
    }
  }
}

function writeEvents(storage: StorageManager, events: MappedFrigateEvent[]): { imported: number; updated: number; unchanged: number } {
  let updated = 0;
  let unchanged = 0;
  const fresh: NewEvent[] = [];

  for (const event of events) {
    const stored = storage.events.getEvent(event.id);
    if (stored === undefined) {
      fresh.push(toNewEvent(event));
    } else if (stored.endTime === null && event.endTime !== null) {
      storage.events.updateEvent(event.id, toEventPatch(event, stored));
      updated += 1;
    } else {
      unchanged += 1;
    }
  }

  for (let start = 0; start < fresh.length; start += MAX_BATCH_SIZE) {
    storage.events.storeEvents(fresh.slice(start, start + MAX_BATCH_SIZE), { requireParent: false });
  }
  return { imported: fresh.length, updated, unchanged };
}
