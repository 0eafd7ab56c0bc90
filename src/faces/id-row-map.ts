/**
 * Map from encoding id to row, an open-addressing hash table with linear probing over one Int32Array
 * of `row + 1` per slot (0 marks an empty slot). It stores no keys: the id of a slot's row is read
 * back through `idOf`, the index's own row-to-id array. At a load of at most one half that is 8 to 16
 * bytes per id, where a Map of numbers takes about 28.
 *
 * Because keys are read through `idOf`, a caller that moves ids between rows must delete an id before
 * it overwrites that id's row, and must move an id with `set` while the id is still at its old row.
 */
export class IdRowMap {
  readonly #idOf: (row: number) => number;
  #slots: Int32Array;
  #mask: number;
  #size = 0;

  constructor(idOf: (row: number) => number, initialCapacity = 16) {
    this.#idOf = idOf;
    let slots = 16;
    while (slots < initialCapacity * 2) slots *= 2;
    this.#slots = new Int32Array(slots);
    this.#mask = slots - 1;
  }

  get size(): number {
    return this.#size;
  }

  has(id: number): boolean {
    return this.#find(id) !== -1;
  }

  get(id: number): number | undefined {
    const slot = this.#find(id);
    return slot === -1 ? undefined : this.#slots[slot]! - 1;
  }

  /** Sets the row of `id`; a new id must already be stored at `row` so that `idOf(row)` returns it. */
  set(id: number, row: number): void {
    const found = this.#find(id);
    if (found !== -1) {
      this.#slots[found] = row + 1;
      return;
    }

    if ((this.#size + 1) * 2 > this.#slots.length) this.#resize(this.#slots.length * 2);
    let slot = hash(id) & this.#mask;
    while (this.#slots[slot] !== 0) slot = (slot + 1) & this.#mask;
    this.#slots[slot] = row + 1;
    this.#size += 1;
  }

  /** Removes `id`, which must still be stored at its row. Returns whether it was present. */
  delete(id: number): boolean {
    let hole = this.#find(id);
    if (hole === -1) return false;

    // Backward-shift deletion: move later entries of the probe run into the hole when their home slot
    // does not lie cyclically in (hole, slot], so that every remaining id stays reachable.
    const slots = this.#slots;
    const mask = this.#mask;
    slots[hole] = 0;
    for (let slot = (hole + 1) & mask; slots[slot] !== 0; slot = (slot + 1) & mask) {
      const home = hash(this.#idOf(slots[slot]! - 1)) & mask;
      const staysPut = hole <= slot ? hole < home && home <= slot : hole < home || home <= slot;
      if (staysPut) continue;
      slots[hole] = slots[slot]!;
      slots[slot] = 0;
      hole = slot;
    }
    this.#size -= 1;
    return true;
  }

  #find(id: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let slot = hash(id) & mask; ; slot = (slot + 1) & mask) {
      const stored = slots[slot]!;
      if (stored === 0) return -1;
      if (this.#idOf(stored - 1) === id) return slot;
    }
  }

  #resize(length: number): void {
    const old = this.#slots;
    this.#slots = new Int32Array(length);
    this.#mask = length - 1;
    for (const stored of old) {
      if (stored === 0) continue;
      let slot = hash(this.#idOf(stored - 1)) & this.#mask;
      while (this.#slots[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#slots[slot] = stored;
    }
  }
}

/** Mixes both halves of a safe-integer id (a SQLite rowid) into 32 bits (the 32-bit golden ratio). */
function hash(id: number): number {
  const high = Math.floor(id / 4294967296) | 0;
  const mixed = Math.imul((id | 0) ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1);
  return mixed ^ (mixed >>> 16);
}
