/** Deterministic random numbers for generated model weights: same bytes on every platform and run. */

/**
 * mulberry32: a small 32-bit PRNG. All arithmetic is on 32-bit integers, so the sequence is
 * identical on every platform.
 */
// Bound once: a global lookup per call (`Math.imul`) is ~15x slower inside jest's VM context.
const imul = Math.imul;

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * Approximately N(0, 1) samples by Irwin–Hall (sum of 12 uniforms minus 6). Every step is exact in
 * IEEE doubles (each uniform is k / 2^32 and the sum needs < 53 bits), so unlike Box–Muller the
 * result never depends on the platform's Math.log / Math.cos.
 */
export function normalSampler(seed: number): () => number {
  const next = mulberry32(seed);
  return () => {
    let s = 0;
    for (let i = 0; i < 12; i++) s += next();
    return s / 4294967296 - 6;
  };
}
