/** Seeded random inputs for the differential and accuracy tests. */

/** Deterministic splitmix64 generator, so every run checks the same inputs. */
export class Rng {
  private state: bigint;
  constructor(seed: bigint) {
    this.state = seed & 0xffffffffffffffffn;
  }
  next64(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return z ^ (z >> 31n);
  }
  /** Uniform in [0, 1). */
  unit(): number {
    return Number(this.next64() >> 11n) / 2 ** 53;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.unit();
  }
  logUniform(lo: number, hi: number): number {
    return Math.exp(this.uniform(Math.log(lo), Math.log(hi)));
  }
  /** A uniform integer in [lo, hi]. */
  between(lo: bigint, hi: bigint): bigint {
    const span = hi - lo + 1n;
    let v = 0n;
    for (let i = 0n; i < BigInt(span.toString(2).length) + 64n; i += 64n) v = (v << 64n) | this.next64();
    return lo + (v % span);
  }
  /** A positive integer with a uniformly random bit length in [1, maxBits]. */
  bits(maxBits: number): bigint {
    const length = 1 + Math.floor(this.unit() * maxBits);
    return this.between(1n << BigInt(length - 1), (1n << BigInt(length)) - 1n);
  }
  /** `bits` with a random sign, within int256. */
  signedBits(maxBits: number): bigint {
    const v = this.bits(Math.min(maxBits, 255));
    return this.unit() < 0.5 ? -v : v;
  }
  pick<T>(items: T[]): T {
    return items[Math.floor(this.unit() * items.length)];
  }
}
