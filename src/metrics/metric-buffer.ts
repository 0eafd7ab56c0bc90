export type MetricType = 'gauge' | 'counter';

/** A stored series: one metric name with one tag set. */
export interface SeriesEntry {
  id: number;
  name: string;
  /** Canonical JSON of the tags. */
  tags: string;
  type: MetricType;
}

/**
 * Points waiting to be written, in preallocated arrays so that buffering a point allocates nothing.
 * The owner writes and clears the buffer when `push` reports it full.
 */
export class MetricBuffer {
  readonly capacity: number;
  readonly series: SeriesEntry[];
  readonly times: Float64Array;
  readonly values: Float64Array;
  #length = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.series = new Array<SeriesEntry>(capacity);
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  get length(): number {
    return this.#length;
  }

  /** Appends one point and returns true when the buffer is now full. */
  push(series: SeriesEntry, time: number, value: number): boolean {
    const index = this.#length;
    this.series[index] = series;
    this.times[index] = time;
    this.values[index] = value;
    this.#length = index + 1;
    return this.#length === this.capacity;
  }

  clear(): void {
    this.#length = 0;
  }
}
