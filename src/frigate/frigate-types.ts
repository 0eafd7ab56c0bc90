/**
 * Shapes of Frigate NVR's event records, as far as Porchlight reads them. Field names are Frigate's.
 * Times are Unix epoch seconds with a fraction, as Frigate stores them (REAL in SQLite).
 */

/** A row of the `event` table of a Frigate 0.12 to 0.14 database; JSON columns still as text. */
export interface FrigateEventRow {
  id: string;
  label: string;
  camera: string;
  start_time: number;
  end_time: number | null;
  top_score: number | null;
  false_positive: number | null;
  /** JSON array of the zones the object entered. */
  zones: string;
  thumbnail: string | null;
  has_clip: number;
  has_snapshot: number;
  region: string | null;
  box: string | null;
  area: number | null;
  retain_indefinitely: number;
  sub_label: string | null;
  ratio: number | null;
  plus_id: string | null;
  score: number | null;
  model_hash: string | null;
  detector_type: string | null;
  model_type: string | null;
  /** JSON object of detection details, such as `top_score`, `score`, `box` and `region`. */
  data: string;
}

/** One element of the array that Frigate's `GET /api/events` returns. */
export interface FrigateApiEvent {
  id: string;
  camera: string;
  label: string;
  sub_label?: string | [string, number] | null;
  start_time: number;
  end_time: number | null;
  top_score?: number | null;
  false_positive?: boolean | null;
  zones: string[];
  has_clip?: boolean;
  has_snapshot?: boolean;
  retain_indefinitely?: boolean;
  thumbnail?: string | null;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The tracked object that a `frigate/events` MQTT message carries in `before` and `after`. */
export interface FrigateTrackedObject {
  id: string;
  camera: string;
  label: string;
  /** A string, or `[name, score]` from Frigate versions that publish the sub-label's score, or null when unset. */
  sub_label?: string | [string, number] | null;
  start_time: number;
  end_time: number | null;
  frame_time?: number;
  top_score?: number;
  score?: number;
  false_positive?: boolean;
  current_zones?: string[];
  entered_zones?: string[];
  has_clip?: boolean;
  has_snapshot?: boolean;
  stationary?: boolean;
  [key: string]: unknown;
}

/** A message of Frigate's `frigate/events` MQTT topic. */
export interface FrigateEventMessage {
  type: 'new' | 'update' | 'end';
  before: FrigateTrackedObject;
  after: FrigateTrackedObject;
}
