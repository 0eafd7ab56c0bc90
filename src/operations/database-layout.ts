import { AUDITED_STORES, STORE_PATH_KEYS, type StorageConfig, type StorePathKey } from './storage-config.js';

/** One SQLite file and the stores whose tables and migrations it holds. */
export interface DatabaseFile {
  /** `main` for the file of the audited stores, else the names of its stores joined by `-`. */
  name: string;
  /** Absolute path. */
  path: string;
  /** Migration store names, in the order their migrations are applied. */
  stores: string[];
}

/** Name of the file that holds the audited stores and every store without a path option. */
export const MAIN_DATABASE = 'main';

/** The path option that decides the file of a store; stores without one of their own go with the audited stores. */
function pathKeyOf(store: string): StorePathKey {
  return (STORE_PATH_KEYS as readonly string[]).includes(store) ? (store as StorePathKey) : AUDITED_STORES[0]!;
}

/**
 * Groups `stores` (migration store names) by database file. The file of the audited stores comes
 * first and is named `main`, whether or not it is the default `porchlight.db`.
 */
export function databaseLayout(config: StorageConfig, stores: readonly string[]): DatabaseFile[] {
  const mainPath = config.databases[AUDITED_STORES[0]!];
  const byPath = new Map<string, string[]>([[mainPath, []]]);
  for (const store of stores) {
    const path = config.databases[pathKeyOf(store)];
    const list = byPath.get(path) ?? [];
    list.push(store);
    byPath.set(path, list);
  }

  return [...byPath].map(([path, fileStores]) => ({
    name: path === mainPath ? MAIN_DATABASE : fileStores.join('-'),
    path,
    stores: fileStores,
  }));
}
