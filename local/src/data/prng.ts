/**
 * A seeded pseudo-random number generator: sfc32 (Chris Doty-Humphrey's "small fast counting"
 * generator from PractRand), seeded through splitmix32. Hand-written rather than taken from a
 * package because the generator draws tens of millions of numbers at scale 100 and the well-kept
 * packages (pure-rand) allocate a new generator object per draw; this one mutates four integers.
 * Never Math.random: the same seed must give the same source, row for row.
 */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** A Poisson-distributed count with the given mean. */
  poisson(mean: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

function splitmix32(state: number): () => number {
  let s = state | 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

class Sfc32 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seeds: readonly number[]) {
    // Fold every seed part into one 32-bit state so (seed, day, stream) triples give independent streams.
    let h = 0x811c9dc5;
    for (const part of seeds) {
      const mix = splitmix32(h ^ Math.imul(part | 0, 0x27d4eb2d) ^ Math.floor(part / 0x100000000));
      h = mix() ^ mix();
    }
    const mix = splitmix32(h);
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = 1;
    // The first outputs of a freshly seeded sfc32 are poorly mixed; discard them.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  private nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean < 40) {
      // Knuth's method: exact, and cheap for small means.
      const limit = Math.exp(-mean);
      let k = 0;
      let p = this.next();
      while (p > limit) {
        k++;
        p *= this.next();
      }
      return k;
    }
    // Normal approximation (Box–Muller); at these means the difference is far below sampling noise.
    const u = 1 - this.next();
    const v = this.next();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('pick() needs a non-empty list.');
    return item;
  }
}

/** A generator for one independent stream, identified by any number of integers (seed, day, stream...). */
export function createRng(...seeds: number[]): Rng {
  return new Sfc32(seeds);
}
