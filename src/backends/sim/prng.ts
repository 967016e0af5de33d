// Seeded randomness for the simulated fleet. Two kinds: a stream (for the
// one-off generation of the fleet) and a stateless hash of (seed, key, ...)
// used for anything that is a function of virtual time, so lag, CPU and I/O
// are deterministic and cost a few multiplications, with no state to persist.

/** mulberry32: small, fast, good enough for a simulation; never Math.random. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = hash32(seed >>> 0, 0x9e3779b9) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  hex(length: number): string {
    let out = '';
    while (out.length < length) out += Math.floor(this.next() * 0x10000).toString(16).padStart(4, '0');
    return out.slice(0, length);
  }

  uuid(): string {
    const h = this.hex(32);
    // Version 4 / variant bits, so the ids look like what servers print.
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16]!, 16) & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

/** A 32-bit avalanche hash of a few integers (murmur3 finaliser). */
export function hash32(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) h = mix(h, p);
  return h >>> 0;
}

/**
 * unit(a, b, c) without the rest-parameter arrays: noise and metrics are
 * sampled thousands of times a refresh, and each array is garbage at once.
 */
export function unit3(a: number, b: number, c: number): number {
  return (mix(mix(mix(0x811c9dc5, a), b), c) >>> 0) / 4294967296;
}

/** One step of hash32. */
function mix(h: number, p: number): number {
  h = Math.imul(h ^ (p | 0), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Uniform in [0, 1) from a hash of the parts. */
export function unit(...parts: number[]): number {
  return hash32(...parts) / 4294967296;
}

/** String key -> integer, for hashing node ids into noise. */
export function keyOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Smooth value noise in [-1, 1]: random values at every `periodMs` of virtual
 * time, cosine-interpolated between them. Its slope is bounded (about
 * π/periodMs per ms), which keeps lag curves physically possible.
 */
export function smoothNoise(seed: number, key: number, t: number, periodMs: number): number {
  const x = t / periodMs;
  const i = Math.floor(x);
  const f = x - i;
  const a = unit3(seed, key, i) * 2 - 1;
  const b = unit3(seed, key, i + 1) * 2 - 1;
  const w = (1 - Math.cos(f * Math.PI)) / 2;
  return a + (b - a) * w;
}
