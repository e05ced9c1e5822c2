/**
 * solady's `FixedPointMathLib` (node_modules/solady/src/utils/FixedPointMathLib.sol, solady 0.1.26) in
 * BigInt: the functions `RiskMath`, `VolatilityMath`, `ChainlinkOracleAdapter` and `FeedReader` call
 * (`lnWad`, `expWad`, `sqrt`, `sqrtWad`, `fullMulDiv`, `fullMulDivUp`, `mulDivUp`, `divUp`,
 * `zeroFloorSub`, and `fullMulDivUnchecked`, which `sqrtWad` uses). Bit-exact: every result equals the
 * EVM's, and every revert is thrown as a `Revert` carrying the custom error (or panic) the EVM returns.
 *
 * The assembly is ported step by step on 256-bit words: `mul`, `add` and `sub` wrap modulo 2²⁵⁶, `sar` is
 * an arithmetic shift, `sdiv` truncates toward zero, `div` / `mulmod` by zero give 0. The EVM helpers at
 * the top are shared by the other fast-engine ports (`riskMath.ts`, `volatilityMath.ts`), which also need
 * Solidity's checked arithmetic (`checkedUint256`, `checkedInt256`: a panic 0x11 outside the type).
 */

// ------------------------------------------------------------------------------------------------
// EVM word semantics
// ------------------------------------------------------------------------------------------------

export const MAX_UINT256 = (1n << 256n) - 1n;
export const MAX_INT256 = (1n << 255n) - 1n;
export const MIN_INT256 = -(1n << 255n);

/** Panic code of a checked arithmetic overflow or underflow. */
export const PANIC_OVERFLOW = 0x11n;
/** Panic code of a division or modulo by zero. */
export const PANIC_DIVISION_BY_ZERO = 0x12n;

/**
 * A revert as the EVM reports it: the error's signature (`"ExpOverflow()"`, `"Panic(uint256)"`) and, for a
 * panic, its code. Arguments of other errors are not modelled (none of the ported errors has any).
 */
export class Revert extends Error {
  constructor(
    readonly signature: string,
    readonly code?: bigint,
  ) {
    super(code === undefined ? `reverted with ${signature}` : `reverted with Panic(0x${code.toString(16)})`);
    this.name = "Revert";
  }
}

/** Solidity's `Panic(uint256)` with `code`. */
export function panic(code: bigint): Revert {
  return new Revert("Panic(uint256)", code);
}

/** The word `x` read as uint256 (two's complement wraparound, as `uint256(int256 x)` or unchecked math). */
export const asUint256 = (x: bigint): bigint => BigInt.asUintN(256, x);
/** The word `x` read as int256 (two's complement wraparound, as `int256(uint256 x)` or unchecked math). */
export const asInt256 = (x: bigint): bigint => BigInt.asIntN(256, x);

/** Checked uint256 arithmetic: `x` if it fits, else Solidity's overflow panic. */
export function checkedUint256(x: bigint): bigint {
  if (x < 0n || x > MAX_UINT256) throw panic(PANIC_OVERFLOW);
  return x;
}

/** Checked int256 arithmetic: `x` if it fits, else Solidity's overflow panic. */
export function checkedInt256(x: bigint): bigint {
  if (x < MIN_INT256 || x > MAX_INT256) throw panic(PANIC_OVERFLOW);
  return x;
}

/** Checked division `x / d` (Solidity truncates toward zero): panics when `d == 0`. */
export function checkedDiv(x: bigint, d: bigint): bigint {
  if (d === 0n) throw panic(PANIC_DIVISION_BY_ZERO);
  return x / d;
}

/** Throws a `RangeError` unless `x` is a uint256 (a caller bug: Solidity's types rule it out). */
export function requireUint256(x: bigint, name = "argument"): bigint {
  if (x < 0n || x > MAX_UINT256) throw new RangeError(`${name} is not a uint256: ${x}`);
  return x;
}

/** Throws a `RangeError` unless `x` is an int256 (a caller bug: Solidity's types rule it out). */
export function requireInt256(x: bigint, name = "argument"): bigint {
  if (x < MIN_INT256 || x > MAX_INT256) throw new RangeError(`${name} is not an int256: ${x}`);
  return x;
}

// Opcodes on unsigned words (operands and results in [0, 2²⁵⁶)).
const mul = (a: bigint, b: bigint): bigint => asUint256(a * b);
const add = (a: bigint, b: bigint): bigint => asUint256(a + b);
const sub = (a: bigint, b: bigint): bigint => asUint256(a - b);
const div = (a: bigint, b: bigint): bigint => (b === 0n ? 0n : a / b);
const mod = (a: bigint, b: bigint): bigint => (b === 0n ? 0n : a % b);
const mulmod = (a: bigint, b: bigint, n: bigint): bigint => (n === 0n ? 0n : (a * b) % n);
const shl = (shift: bigint, a: bigint): bigint => (shift >= 256n ? 0n : asUint256(a << shift));
const shr = (shift: bigint, a: bigint): bigint => (shift >= 256n ? 0n : a >> shift);
const lt = (a: bigint, b: bigint): bigint => (a < b ? 1n : 0n);
const gt = (a: bigint, b: bigint): bigint => (a > b ? 1n : 0n);

// Opcodes on signed words (operands and results in [−2²⁵⁵, 2²⁵⁵)): the low 256 bits of a sum or product
// do not depend on the reading, so wrapping to int256 is the EVM's `add` / `mul` read as signed.
const smul = (a: bigint, b: bigint): bigint => asInt256(a * b);
const sadd = (a: bigint, b: bigint): bigint => asInt256(a + b);
const ssub = (a: bigint, b: bigint): bigint => asInt256(a - b);
/** `sar(shift, a)`: arithmetic shift right (BigInt `>>` floors, as `sar` does). */
const sar = (shift: bigint, a: bigint): bigint => a >> shift;
/** `sdiv(a, b)`: truncates toward zero; 0 for `b == 0`; `MIN / −1` wraps to MIN. */
const sdiv = (a: bigint, b: bigint): bigint => (b === 0n ? 0n : asInt256(a / b));

// ------------------------------------------------------------------------------------------------
// Exponential and logarithm
// ------------------------------------------------------------------------------------------------

/**
 * `expWad(x)`: exp(x / 1e18) in WAD (an approximation, monotonically increasing). 0 for
 * x ≤ −41.446531673892822313e18; throws `ExpOverflow()` for x ≥ 135.305999368893231589e18.
 */
export function expWad(x: bigint): bigint {
  requireInt256(x, "x");
  if (x <= -41446531673892822313n) return 0n;
  if (x >= 135305999368893231589n) throw new Revert("ExpOverflow()");

  // The Solidity body is unchecked int256 arithmetic: every step wraps (none does in this domain).
  // To a 2**96 basis: multiply by 1e18 / 2**96 = 5**18 / 2**78.
  x = asInt256(asInt256(x << 78n) / 5n ** 18n);

  // k = round(x / ln 2), x' = x − k·ln 2 in (−½ ln 2, ½ ln 2).
  const k = asInt256(asInt256(asInt256(x << 96n) / 54916777467707473351141471128n + 2n ** 95n) >> 96n);
  x = ssub(x, smul(k, 54916777467707473351141471128n));

  // (6, 7)-term rational approximation; `p` monic, left in a 2**192 basis.
  let y = sadd(x, 1346386616545796478920950773328n);
  y = sadd(smul(y, x) >> 96n, 57155421227552351082224309758442n);
  let p = ssub(sadd(y, x), 94201549194550492254356042504812n);
  p = sadd(smul(p, y) >> 96n, 28719021644029726153956944680412240n);
  p = sadd(smul(p, x), asInt256(4385272521454847904659076985693276n << 96n));

  let q = ssub(x, 2855989394907223263936484059900n);
  q = sadd(smul(q, x) >> 96n, 50020603652535783019961831881945n);
  q = ssub(smul(q, x) >> 96n, 533845033583426703283633433725380n);
  q = sadd(smul(q, x) >> 96n, 3604857256930695427073651918091429n);
  q = ssub(smul(q, x) >> 96n, 14423608567350463180887372962807573n);
  q = sadd(smul(q, x) >> 96n, 26449188498355588339934803723976023n);

  const r = sdiv(p, q);
  // Scale factor, 2**k and the base conversion at once; the shift 195 − k lies in [0, 256].
  const scaled = mul(asUint256(r), 3822833074963236453042738258902158003155416615667n);
  return asInt256(shr(195n - k, scaled));
}

/** floor(log2(x)) for x > 0. */
function log2(x: bigint): bigint {
  return BigInt(x.toString(2).length - 1);
}

/**
 * `lnWad(x)`: ln(x / 1e18) in WAD (an approximation, monotonically increasing). Throws
 * `LnWadUndefined()` for x ≤ 0.
 */
export function lnWad(x: bigint): bigint {
  requireInt256(x, "x");
  if (x <= 0n) throw new Revert("LnWadUndefined()");

  // r = 255 − log2(x): the shift that brings x's top bit to bit 255 (solady derives it with a lookup
  // table; the value is the same). Then reduce x to [1, 2)·2**96.
  const r = 255n - log2(x);
  x = shr(159n, shl(r, x));

  // (8, 8)-term rational approximation; `p` monic, left in a 2**192 basis.
  let p = sadd(3273285459638523848632254066296n, x);
  p = sar(96n, smul(p, x));
  p = sadd(24828157081833163892658089445524n, p);
  p = sar(96n, smul(p, x));
  p = sadd(43456485725739037958740375743393n, p);
  p = sar(96n, smul(p, x));
  p = ssub(p, 11111509109440967052023855526967n);
  p = ssub(sar(96n, smul(p, x)), 45023709667254063763336534515857n);
  p = ssub(sar(96n, smul(p, x)), 14706773417378608786704636184526n);
  p = ssub(smul(p, x), asInt256(795164235651350426258249787498n << 96n));

  let q = sadd(5573035233440673466300451813936n, x);
  q = sadd(71694874799317883764090561454958n, sar(96n, smul(x, q)));
  q = sadd(283447036172924575727196451306956n, sar(96n, smul(x, q)));
  q = sadd(401686690394027663651624208769553n, sar(96n, smul(x, q)));
  q = sadd(204048457590392012362485061816622n, sar(96n, smul(x, q)));
  q = sadd(31853899698501571402653359427138n, sar(96n, smul(x, q)));
  q = sadd(909429971244387300277376558375n, sar(96n, smul(x, q)));

  p = sdiv(p, q);
  // Scale factor, then k·ln 2 and ln(2**96 / 1e18), all in a 5**18·2**192 basis.
  p = smul(1677202110996718588342820967067443963516166n, p);
  p = sadd(smul(16597577552685614221487285958193947469193820559219878177908093499208371n, ssub(159n, r)), p);
  p = sadd(600920179829731861736702779321621459595472258049074101567377883020018308n, p);
  return sar(174n, p);
}

// ------------------------------------------------------------------------------------------------
// Multiplication and division
// ------------------------------------------------------------------------------------------------

/**
 * `fullMulDiv(x, y, d)`: floor(x·y / d) with a 512-bit product. Throws `FullMulDivFailed()` when d = 0 or
 * the result does not fit in 256 bits. solady's 512-by-256 division is exact whenever it does not revert,
 * and it reverts exactly when `d ≤ p1` (the product's high word), i.e. when floor(x·y / d) ≥ 2²⁵⁶.
 */
export function fullMulDiv(x: bigint, y: bigint, d: bigint): bigint {
  requireUint256(x, "x");
  requireUint256(y, "y");
  requireUint256(d, "d");
  if (d === 0n) throw new Revert("FullMulDivFailed()");
  const product = x * y;
  if (product >> 256n >= d) throw new Revert("FullMulDivFailed()");
  return product / d;
}

/**
 * `fullMulDivUnchecked(x, y, d)`: floor(x·y / d) when d ≠ 0 and the result fits in 256 bits; otherwise the
 * word the assembly computes (ported step by step, so it matches even there).
 */
export function fullMulDivUnchecked(x: bigint, y: bigint, d: bigint): bigint {
  requireUint256(x, "x");
  requireUint256(y, "y");
  requireUint256(d, "d");
  let z = mul(x, y);
  const mm = mulmod(x, y, MAX_UINT256);
  const p1 = sub(mm, add(z, lt(mm, z)));
  const t = d & sub(0n, d);
  const r = mulmod(x, y, d);
  d = div(d, t);
  let inv = 2n ^ mul(3n, d);
  for (let i = 0; i < 5; i++) inv = mul(inv, sub(2n, mul(d, inv)));
  const shifted = (mul(sub(p1, gt(r, z)), add(div(sub(0n, t), t), 1n)) | div(sub(z, r), t)) & MAX_UINT256;
  z = mul(shifted, mul(sub(2n, mul(d, inv)), inv));
  return z;
}

/**
 * `fullMulDivUp(x, y, d)`: ceil(x·y / d) with a 512-bit product. Throws `FullMulDivFailed()` when d = 0 or
 * the result does not fit in 256 bits.
 */
export function fullMulDivUp(x: bigint, y: bigint, d: bigint): bigint {
  let z = fullMulDiv(x, y, d);
  if (mulmod(x, y, d) !== 0n) {
    z = add(z, 1n);
    if (z === 0n) throw new Revert("FullMulDivFailed()");
  }
  return z;
}

/** `mulDivUp(x, y, d)`: ceil(x·y / d). Throws `MulDivFailed()` when x·y overflows 256 bits or d = 0. */
export function mulDivUp(x: bigint, y: bigint, d: bigint): bigint {
  requireUint256(x, "x");
  requireUint256(y, "y");
  requireUint256(d, "d");
  const z = x * y;
  if (z > MAX_UINT256 || d === 0n) throw new Revert("MulDivFailed()");
  return z / d + (z % d === 0n ? 0n : 1n);
}

/** `divUp(x, d)`: ceil(x / d). Throws `DivFailed()` when d = 0. */
export function divUp(x: bigint, d: bigint): bigint {
  requireUint256(x, "x");
  requireUint256(d, "d");
  if (d === 0n) throw new Revert("DivFailed()");
  return div(x, d) + (mod(x, d) === 0n ? 0n : 1n);
}

/** `zeroFloorSub(x, y)`: max(0, x − y). */
export function zeroFloorSub(x: bigint, y: bigint): bigint {
  requireUint256(x, "x");
  requireUint256(y, "y");
  return x > y ? x - y : 0n;
}

// ------------------------------------------------------------------------------------------------
// Square roots
// ------------------------------------------------------------------------------------------------

/** `sqrt(x)`: floor(√x), by solady's seeded Babylonian method (ported step by step). */
export function sqrt(x: bigint): bigint {
  requireUint256(x, "x");
  // Initial estimate from the bit length, then seven Babylonian steps.
  let r = shl(7n, lt(0xffffffffffffffffffffffffffffffffffn, x));
  r = r | shl(6n, lt(0xffffffffffffffffffn, shr(r, x)));
  r = r | shl(5n, lt(0xffffffffffn, shr(r, x)));
  r = r | shl(4n, lt(0xffffffn, shr(r, x)));
  let z = shl(shr(1n, r), 181n);
  z = shr(18n, mul(z, add(shr(r, x), 65536n)));
  for (let i = 0; i < 7; i++) z = shr(1n, add(z, div(x, z)));
  // The iteration may end on ceil(√x) when x + 1 is a perfect square: round down.
  return sub(z, lt(div(x, z), z));
}

/** `sqrtWad(x)`: floor(√(x / 1e18)) in WAD, i.e. floor(√(x·1e18)), for every uint256 x. */
export function sqrtWad(x: bigint): bigint {
  requireUint256(x, "x");
  if (x <= MAX_UINT256 / 10n ** 18n) return sqrt(x * 10n ** 18n);
  // One Newton step from √x·1e9, then solady's correction (its `mulmod` / `sub` wraparound included).
  let z = mul(add(1n, sqrt(x)), 10n ** 9n);
  z = shr(1n, add(fullMulDivUnchecked(x, 10n ** 18n, z), z));
  return sub(z, gt(999999999999999999n, sub(mulmod(z, z, x), 1n)));
}
