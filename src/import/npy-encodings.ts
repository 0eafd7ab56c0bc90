import { basename, extname } from 'node:path';

import { ErrorCodes, ValidationError } from '../errors.js';
import type { EncodingEntry } from './encoding-entry.js';
import { npyRows, readNpy } from './npy.js';

/**
 * Reads the rows of a float32 or float64 `.npy` of shape (n, d) as encodings. Row i belongs to the
 * person named by entry i of `labelsFile`, a unicode `.npy` of shape (n,). Without a labels file,
 * each row becomes a person of its own named `<file name>-<row>`.
 */
export function readNpyEncodings(file: string, labelsFile?: string): EncodingEntry[] {
  const rows = npyRows(readNpy(file), file);

  let labels: string[] | undefined;
  if (labelsFile !== undefined) {
    const array = readNpy(labelsFile);
    if (!Array.isArray(array.data)) {
      throw new ValidationError(ErrorCodes.INVALID_FILE, `${labelsFile}: expected unicode strings (<U), got ${array.descr}; save the labels with numpy.array(labels, dtype=str).`, { details: { file: labelsFile } });
    }
    if (array.data.length !== rows.length) {
      throw new ValidationError(ErrorCodes.INVALID_FILE, `${labelsFile}: has ${array.data.length} labels for ${rows.length} rows in ${file}; give one label per row.`, { details: { file: labelsFile } });
    }
    labels = array.data;
  }

  const prefix = basename(file, extname(file));
  return rows.map((vector, row) => {
    const label = labels?.[row] ?? `${prefix}-${row}`;
    return { kind: 'record', location: { file, unit: 'row', index: row }, personId: label, name: label, vector };
  });
}
