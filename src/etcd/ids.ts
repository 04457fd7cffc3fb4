/**
 * etcd member and cluster ids: uint64s. Random, so most are above 2^53 where a JS Number rounds
 * them: never a Number. Decimal strings on the gRPC wire objects (proto-loader `longs: String`),
 * hex in kubeaz's records (as etcdctl prints them, `%x`: lowercase, no padding), converted through
 * BigInt. PURE: imported by the client, the records and the agent's decisions alike.
 */

const UINT64_MAX = (1n << 64n) - 1n;

function toBigInt(v: string, radix: 10 | 16): bigint | undefined {
  const re = radix === 10 ? /^\d{1,20}$/ : /^(0x)?[0-9a-f]{1,16}$/i;
  if (!re.test(v)) return undefined;
  const n = BigInt(radix === 10 ? v : `0x${v.replace(/^0x/i, '')}`);
  return n <= UINT64_MAX ? n : undefined;
}

/** A uint64 id as the wire gives it (decimal string) → hex as etcdctl prints it (`%x`: lowercase, no padding). */
export function idToHex(decimal: string): string {
  const n = toBigInt(decimal, 10);
  if (n === undefined) throw new RangeError(`etcd id ${JSON.stringify(decimal)} is not a decimal uint64`);
  return n.toString(16);
}

/** A hex id (a record, etcdctl's output; `0x` prefix and leading zeros allowed) → the wire's decimal string. */
export function idFromHex(hex: string): string {
  const n = toBigInt(hex, 16);
  if (n === undefined) throw new RangeError(`etcd id ${JSON.stringify(hex)} is not a hex uint64`);
  return n.toString(10);
}

/** Whether two ids name the same member, each given as decimal (`dec:`) or hex — compared as numbers. */
export function sameId(a: { dec?: string; hex?: string }, b: { dec?: string; hex?: string }): boolean {
  const n = (x: { dec?: string; hex?: string }) =>
    x.dec !== undefined ? toBigInt(x.dec, 10) : x.hex !== undefined ? toBigInt(x.hex, 16) : undefined;
  const na = n(a);
  return na !== undefined && na === n(b);
}

/** A decimal uint64 string (what the wire carries). */
export const isDecimalId = (v: string): boolean => toBigInt(v, 10) !== undefined;

/** A hex uint64 (a record's memberId). */
export const isHexId = (v: string): boolean => toBigInt(v, 16) !== undefined;

/** A hex id as records keep it: lowercase, no prefix, no leading zeros. */
export function normalizeHexId(hex: string): string {
  return idToHex(idFromHex(hex));
}
