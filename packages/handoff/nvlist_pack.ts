/**
 * The nvlist packer: {@linkcode packNvList} writes libnv's `nvlist_pack()` bytes, header sizes
 * included, in either byte order; {@linkcode nvListSize} is libnv's `nvlist_size()`.
 *
 * @example Usage
 * ```ts
 * import { nvBool, nvList, nvListSize, packNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * const list = nvList([nvBool("admin", true)]);
 * assert.equal(packNvList(list).length, nvListSize(list));
 * ```
 *
 * @module
 */

import {
  H_DESCRIPTORS,
  H_FLAGS,
  H_SIZE,
  H_VERSION,
  MARKER_SIZE,
  nameKey,
  NESTED_COST,
  P_DATASIZE,
  P_NAMESIZE,
  P_NITEMS,
  PUBLIC_FLAGS,
  toU64,
} from "./_nvlist_wire.ts";
import {
  NV_NAME_MAX,
  NV_TYPE_NVLIST_ARRAY_NEXT,
  NV_TYPE_NVLIST_UP,
  NvFlag,
  type NvList,
  NVLIST_HEADER_MAGIC,
  NVLIST_HEADER_SIZE,
  NVLIST_HEADER_VERSION,
  type NvPair,
  NVPAIR_HEADER_SIZE,
  NvType,
} from "./nvlist_types.ts";

const utf8 = new TextEncoder();

/** One step of a pack: a header, a pair or an end marker, in buffer order. */
type Op =
  | { kind: 0; list: NvList }
  | { kind: 1; pair: NvPair; name: Uint8Array; data: Uint8Array | null; cost: number }
  | { kind: 2; type: number };

interface Plan {
  ops: Op[];
  size: number;
  descriptors: number;
}

function encodeString(s: string, what: string): Uint8Array {
  const bytes = utf8.encode(s);
  if (bytes.includes(0)) throw new TypeError(`Cannot pack ${what}: it contains a NUL`);
  return bytes;
}

function checkFd(fd: unknown, what: string): number {
  if (typeof fd !== "number" || !Number.isSafeInteger(fd) || fd < 0) {
    throw new RangeError(`Cannot pack ${what}: descriptor index ${String(fd)} is not >= 0`);
  }
  return fd;
}

function nonEmpty(items: { length: number }, what: string): void {
  if (items.length === 0) throw new RangeError(`Cannot pack ${what}: it has no items`);
}

function planList(list: NvList, plan: Plan, depth: string): void {
  if (!Number.isInteger(list.flags) || (list.flags & ~PUBLIC_FLAGS) !== 0) {
    throw new RangeError(`Cannot pack nvlist${depth}: flags ${list.flags} are not 0 to 3`);
  }
  plan.ops.push({ kind: 0, list });
  plan.size += NVLIST_HEADER_SIZE;
  const seen = new Set<string>();
  for (const pair of list.pairs) {
    const what = `pair "${pair.name}"${depth}`;
    const name = encodeString(pair.name, `the name of ${what}`);
    if (name.length + 1 > NV_NAME_MAX) {
      throw new RangeError(`Cannot pack ${what}: the name is ${name.length} bytes, max 2047`);
    }
    if ((list.flags & NvFlag.NO_UNIQUE) === 0) {
      const key = nameKey(pair.name, list.flags);
      if (seen.has(key)) throw new TypeError(`Cannot pack ${what}: the name is used twice`);
      seen.add(key);
    }
    const op: Op & { kind: 1 } = { kind: 1, pair, name, data: null, cost: 0 };
    plan.ops.push(op);
    let base = NVPAIR_HEADER_SIZE + name.length + 1;
    switch (pair.type) {
      case NvType.NULL:
        break;
      case NvType.BOOL:
        if (typeof pair.value !== "boolean") {
          throw new TypeError(`Cannot pack ${what}: not a boolean`);
        }
        base += 1;
        break;
      case NvType.NUMBER:
        if (typeof pair.value !== "bigint") {
          throw new TypeError(`Cannot pack ${what}: not a bigint`);
        }
        toU64(pair.value, pair.name);
        base += 8;
        break;
      case NvType.STRING: {
        const s = encodeString(pair.value, what);
        op.data = s;
        base += s.length + 1;
        break;
      }
      case NvType.DESCRIPTOR:
        checkFd(pair.value?.fd, what);
        plan.descriptors += 1;
        base += 8;
        break;
      case NvType.BINARY:
        if (!(pair.value instanceof Uint8Array)) {
          throw new TypeError(`Cannot pack ${what}: not a Uint8Array`);
        }
        nonEmpty(pair.value, what);
        base += pair.value.length;
        break;
      case NvType.BOOL_ARRAY:
        nonEmpty(pair.value, what);
        base += pair.value.length;
        break;
      case NvType.NUMBER_ARRAY:
        nonEmpty(pair.value, what);
        for (const v of pair.value) toU64(v, pair.name);
        base += 8 * pair.value.length;
        break;
      case NvType.STRING_ARRAY: {
        nonEmpty(pair.value, what);
        const parts = pair.value.map((s) => encodeString(s, what));
        const data = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
        let at = 0;
        for (const p of parts) {
          data.set(p, at);
          at += p.length + 1;
        }
        op.data = data;
        base += data.length;
        break;
      }
      case NvType.DESCRIPTOR_ARRAY:
        nonEmpty(pair.value, what);
        for (const d of pair.value) checkFd(d?.fd, what);
        plan.descriptors += pair.value.length;
        base += 8 * pair.value.length;
        break;
      case NvType.NVLIST:
        // libnv charges the child's header and end marker to the pair (nvlist_size()).
        op.cost = base + NESTED_COST;
        plan.size += base;
        planList(pair.value, plan, ` in "${pair.name}"${depth}`);
        plan.ops.push({ kind: 2, type: NV_TYPE_NVLIST_UP });
        plan.size += MARKER_SIZE;
        continue;
      case NvType.NVLIST_ARRAY: {
        nonEmpty(pair.value, what);
        op.cost = base + NESTED_COST * pair.value.length;
        plan.size += base;
        pair.value.forEach((el, i) => {
          planList(el, plan, ` in "${pair.name}"[${i}]${depth}`);
          plan.ops.push({ kind: 2, type: NV_TYPE_NVLIST_ARRAY_NEXT });
          plan.size += MARKER_SIZE;
        });
        continue;
      }
      default:
        throw new TypeError(
          `Cannot pack ${what}: unknown type ${String((pair as { type: unknown }).type)}`,
        );
    }
    op.cost = base;
    plan.size += base;
  }
}

/**
 * Returns the size {@linkcode packNvList} will give `list`: libnv's `nvlist_size()`.
 *
 * @param list The list.
 * @returns Its packed size in bytes.
 * @throws {TypeError} The list cannot be packed (see {@linkcode packNvList}).
 * @example Usage
 * ```ts
 * import { nvList, nvListSize } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvListSize(nvList()), 19);
 * ```
 */
export function nvListSize(list: NvList): number {
  const plan: Plan = { ops: [], size: 0, descriptors: 0 };
  planList(list, plan, "");
  return plan.size;
}

/** Options of {@linkcode packNvList}. */
export interface PackOptions {
  /** Write big-endian integers and set {@linkcode NvFlag.BIG_ENDIAN}, as libnv on s390x. */
  bigEndian?: boolean;
}

/**
 * Packs an nvlist exactly as libnv's `nvlist_pack()` would on a machine of the chosen byte order
 * (for lists with descriptors, as `nvlist_send()` writes the buffer: the DESCRIPTOR values are
 * written as they are, the indices into the descriptor array).
 *
 * @param list The list. Names must be unique unless the list has NO_UNIQUE (case-insensitively
 *   with IGNORE_CASE), names and strings NUL-free, BINARY and arrays non-empty.
 * @param options Byte order; little-endian by default.
 * @returns The packed bytes.
 * @throws {TypeError} A value does not match its pair type, a name repeats, or a string holds NUL.
 * @throws {RangeError} A number, flag, count or name length is out of range.
 * @example Usage
 * ```ts
 * import { nvBool, nvList, packNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * const bytes = packNvList(nvList([nvBool("b", true)]));
 * assert.deepEqual([...bytes.subarray(0, 3)], [0x6c, 0, 0]);
 * assert.equal(bytes[19], 2); // BOOL
 * assert.equal(packNvList(nvList(), { bigEndian: true })[2], 0x80);
 * ```
 */
export function packNvList(list: NvList, options: PackOptions = {}): Uint8Array {
  const le = options.bigEndian !== true;
  const plan: Plan = { ops: [], size: 0, descriptors: 0 };
  planList(list, plan, "");
  const total = plan.size;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let pos = 0;
  let consumed = 0;
  let descriptors = 0;
  for (const op of plan.ops) {
    if (op.kind === 0) {
      out[pos] = NVLIST_HEADER_MAGIC;
      out[pos + H_VERSION] = NVLIST_HEADER_VERSION;
      out[pos + H_FLAGS] = op.list.flags | (le ? 0 : NvFlag.BIG_ENDIAN);
      view.setBigUint64(pos + H_DESCRIPTORS, BigInt(plan.descriptors - descriptors), le);
      view.setBigUint64(pos + H_SIZE, BigInt(total - pos - NVLIST_HEADER_SIZE), le);
      pos += NVLIST_HEADER_SIZE;
      continue;
    }
    if (op.kind === 2) {
      out[pos] = op.type;
      view.setUint16(pos + P_NAMESIZE, 1, le);
      pos += MARKER_SIZE; // datasize, nitems and the empty name stay zero
      continue;
    }
    const { pair, name } = op;
    consumed += op.cost;
    let datasize = 0;
    let nitems = 0;
    switch (pair.type) {
      case NvType.BOOL:
        datasize = 1;
        break;
      case NvType.NUMBER:
      case NvType.DESCRIPTOR:
        datasize = 8;
        break;
      case NvType.STRING:
        datasize = op.data!.length + 1;
        break;
      case NvType.BINARY:
        datasize = pair.value.length;
        break;
      case NvType.NVLIST:
        // nvlist_size() of the child: libnv walks on to the end of the whole list.
        datasize = pair.value.pairs.length === 0 ? NVLIST_HEADER_SIZE : total - consumed;
        break;
      case NvType.BOOL_ARRAY:
        nitems = pair.value.length;
        datasize = nitems;
        break;
      case NvType.NUMBER_ARRAY:
      case NvType.DESCRIPTOR_ARRAY:
        nitems = pair.value.length;
        datasize = 8 * nitems;
        break;
      case NvType.STRING_ARRAY:
        nitems = pair.value.length;
        datasize = op.data!.length;
        break;
      case NvType.NVLIST_ARRAY:
        nitems = pair.value.length;
        break;
    }
    out[pos] = pair.type;
    view.setUint16(pos + P_NAMESIZE, name.length + 1, le);
    view.setBigUint64(pos + P_DATASIZE, BigInt(datasize), le);
    view.setBigUint64(pos + P_NITEMS, BigInt(nitems), le);
    pos += NVPAIR_HEADER_SIZE;
    out.set(name, pos);
    pos += name.length + 1;
    switch (pair.type) {
      case NvType.BOOL:
        out[pos++] = pair.value ? 1 : 0;
        break;
      case NvType.NUMBER:
        view.setBigUint64(pos, pair.value, le);
        pos += 8;
        break;
      case NvType.DESCRIPTOR:
        view.setBigInt64(pos, BigInt(pair.value.fd), le);
        descriptors += 1;
        pos += 8;
        break;
      case NvType.STRING:
        out.set(op.data!, pos);
        pos += op.data!.length + 1;
        break;
      case NvType.STRING_ARRAY:
        out.set(op.data!, pos);
        pos += op.data!.length;
        break;
      case NvType.BINARY:
        out.set(pair.value, pos);
        pos += pair.value.length;
        break;
      case NvType.BOOL_ARRAY:
        for (const b of pair.value) out[pos++] = b ? 1 : 0;
        break;
      case NvType.NUMBER_ARRAY:
        for (const v of pair.value) {
          view.setBigUint64(pos, v, le);
          pos += 8;
        }
        break;
      case NvType.DESCRIPTOR_ARRAY:
        for (const d of pair.value) {
          view.setBigInt64(pos, BigInt(d.fd), le);
          pos += 8;
        }
        descriptors += pair.value.length;
        break;
    }
  }
  return out;
}
