/** The `format` value of every Porchlight export manifest. */
export const EXPORT_FORMAT = 'porchlight-export';

/** Version of the export layout, raised whenever a change makes an export unreadable to an older importer. */
export const EXPORT_FORMAT_VERSION = 1;

/** File name of the manifest inside an export folder. */
export const MANIFEST_FILE = 'manifest.json';

export interface ExportedTableEntry {
  /** The store whose migrations create the table; null for a table no migration names. */
  store: string | null;
  table: string;
  /** Path of the JSON lines file, relative to the export folder. */
  file: string;
  /** Every column of each row object, in declaration order. */
  columns: string[];
  rows: number;
  bytes: number;
  /** SHA-256 of the file, hex. */
  sha256: string;
}

/** `manifest.json` of an export folder. */
export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  formatVersion: number;
  /** ISO 8601, UTC. */
  createdAt: string;
  porchlightVersion: string;
  /** The latest applied migration of each store, which an import requires of its target. */
  schemaVersions: Record<string, number>;
  tables: ExportedTableEntry[];
  /** FTS5 indexes left out of the export and rebuilt from their content tables on import. */
  rebuiltIndexes: string[];
}
