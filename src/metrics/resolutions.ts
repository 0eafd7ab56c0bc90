/** Rollup resolutions and their bucket widths in milliseconds; buckets start at UTC minute, hour and day boundaries. */
export const ROLLUP_WIDTHS = Object.freeze({ minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const);

export type RollupResolution = keyof typeof ROLLUP_WIDTHS;

/** `raw` reads the stored points; the others read the rollups. */
export type Resolution = 'raw' | RollupResolution;

export const ROLLUP_RESOLUTIONS: readonly RollupResolution[] = Object.freeze(['minute', 'hour', 'day']);

export const RESOLUTIONS: readonly Resolution[] = Object.freeze(['raw', 'minute', 'hour', 'day']);

export const DAY_MS = 86_400_000;

/** Start of the bucket of width `width` that contains `time`. */
export function bucketStart(time: number, width: number): number {
  return time - (time % width);
}
