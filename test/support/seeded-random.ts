/**
 * A small seeded PRNG (mulberry32) for tests whose random choices must be replayable from a printed seed
 * (e.g. kill delays). Not for anything secret.
 */
export interface SeededRandom {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  /** Uniform real in [min, max). */
  between(min: number, max: number): number;
  /** `n` pseudo-random bytes (content for test files that a replay recreates exactly). */
  bytes(n: number): Buffer;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed: seed >>> 0,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    between: (min, max) => min + next() * (max - min),
    bytes: (n) => {
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) words[i] = Math.floor(next() * 4294967296);
      return Buffer.from(words.buffer, 0, n);
    },
  };
}

/** The seed from `env[name]` when set (to replay a failure), else a fresh one. */
export function seedFrom(env: NodeJS.ProcessEnv, name: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return Math.floor(Math.random() * 2 ** 32);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32)
    throw new Error(`${name}=${JSON.stringify(raw)} must be an integer in [0, 2^32)`);
  return n;
}
