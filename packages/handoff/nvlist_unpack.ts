/**
 * The nvlist unpacker: {@linkcode unpackNvList} reads libnv's packed format in either byte
 * order. Strict mode (the default) refuses everything malformed; `strict: false` accepts and
 * refuses exactly what libnv's `nvlist_unpack()` does, except that it never reads outside the
 * buffer. Every count and size is checked against the bytes left before anything is allocated.
 *
 * @example Usage
 * ```ts
 * import { nvList, nvNumber, packNvList, unpackNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * const bytes = packNvList(nvList([nvNumber("sqhd", 5)]));
 * assert.equal(unpackNvList(bytes).pairs[0].value, 5n);
 * ```
 *
 * @module
 */

import { hex } from "@nvmf/proto/bytes";
import {
  asciiLower,
  H_DESCRIPTORS,
  H_FLAGS,
  H_SIZE,
  H_VERSION,
  HEADER_FLAGS,
  P_DATASIZE,
  P_NAMESIZE,
  P_NITEMS,
  PUBLIC_FLAGS,
  U64_MASK,
} from "./_nvlist_wire.ts";
import { NvListError } from "./nvlist_errors.ts";
import {
  NV_NAME_MAX,
  NV_TYPE_NVLIST_ARRAY_NEXT,
  NV_TYPE_NVLIST_UP,
  type NvDescriptor,
  NvFlag,
  type NvList,
  NVLIST_HEADER_MAGIC,
  NVLIST_HEADER_SIZE,
  NVLIST_HEADER_VERSION,
  type NvPair,
  NVPAIR_HEADER_SIZE,
  NvType,
} from "./nvlist_types.ts";

/** Options of {@linkcode unpackNvList}. */
export interface UnpackOptions {
  /**
   * Refuse everything malformed (default true). With false, accept and refuse what libnv's
   * `nvlist_unpack()` does; see the module documentation for the one difference.
   */
  strict?: boolean;
  /**
   * How many descriptors were received beside the buffer (`nvlist_recv()`); every DESCRIPTOR
   * index and header `descriptors` count must stay below or at it. `nvlist_unpack()` passes 0,
   * the default.
   */
  descriptors?: number;
  /** The top-level flags the caller expects, as the `flags` of `nvlist_unpack()`; default 0. */
  flags?: number;
}

/** Where a list sits: the top, a nested NVLIST, or an element of an NVLIST_ARRAY. */
type Kind = 0 | 1 | 2;
const TOP: Kind = 0;
const NESTED: Kind = 1;
const ELEMENT: Kind = 2;

interface Frame {
  list: NvList;
  kind: Kind;
  /** The frame holding the pair this list hangs from (libnv `nvpair_nvlist(nvl_parent)`). */
  parent: Frame | null;
  /** The next element of the same NVLIST_ARRAY (libnv `nvl_array_next`). */
  next: Frame | null;
  /** Names seen, as byte strings (ASCII-folded with IGNORE_CASE); null with NO_UNIQUE. */
  names: Set<string> | null;
}

interface HeaderRecord {
  offset: number;
  descriptors: bigint;
  before: number;
}

function newFrame(kind: Kind, parent: Frame | null): Frame {
  return { list: { flags: 0, pairs: [] }, kind, parent, next: null, names: new Set() };
}

class Unpacker {
  readonly b: Uint8Array;
  readonly v: DataView;
  readonly n: number;
  readonly strict: boolean;
  readonly nfds: bigint;
  readonly text: TextDecoder;
  pos = 0;
  /** Byte order of the pairs, as libnv's `isbe`. */
  isbe = false;
  topBe = false;
  descriptorsSeen = 0;
  headers: HeaderRecord[] = [];

  constructor(bytes: Uint8Array, strict: boolean, nfds: number) {
    this.b = bytes;
    this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.n = bytes.length;
    this.strict = strict;
    this.nfds = BigInt(nfds);
    this.text = new TextDecoder("utf-8", { fatal: strict });
  }

  fail(reason: string, offset: number): never {
    throw new NvListError(reason, offset);
  }

  /** nvlist_unpack_header(): checks and consumes a header, sets the frame's flags. */
  header(frame: Frame, setIsbe: boolean, top: boolean): void {
    const at = this.pos;
    const left = this.n - at;
    if (left < NVLIST_HEADER_SIZE) {
      this.fail(`truncated nvlist header: ${left} bytes left, need ${NVLIST_HEADER_SIZE}`, at);
    }
    const b = this.b;
    if (b[at] !== NVLIST_HEADER_MAGIC) {
      this.fail(`bad nvlist header magic ${hex(b[at])} (want 0x6c)`, at);
    }
    const flags = b[at + H_FLAGS];
    if ((flags & ~HEADER_FLAGS) !== 0) {
      this.fail(`unknown nvlist header flags ${hex(flags)}`, at + H_FLAGS);
    }
    const be = (flags & NvFlag.BIG_ENDIAN) !== 0;
    const size = this.v.getBigUint64(at + H_SIZE, !be);
    if (size !== BigInt(left - NVLIST_HEADER_SIZE)) {
      this.fail(
        `nvlist header size ${size} does not match the ${left - NVLIST_HEADER_SIZE} bytes ` +
          "that follow it",
        at + H_SIZE,
      );
    }
    const descriptors = this.v.getBigUint64(at + H_DESCRIPTORS, !be);
    if (descriptors > this.nfds) {
      this.fail(
        `nvlist header claims ${descriptors} descriptors, only ${this.nfds} available`,
        at + H_DESCRIPTORS,
      );
    }
    if (this.strict) {
      if (b[at + H_VERSION] !== NVLIST_HEADER_VERSION) {
        this.fail(`unsupported nvlist header version ${b[at + H_VERSION]}`, at + H_VERSION);
      }
      if (top) {
        this.topBe = be;
      } else if (be !== this.topBe) {
        this.fail("nested nvlist header byte order differs from the outer one", at + H_FLAGS);
      }
      this.headers.push({ offset: at + H_DESCRIPTORS, descriptors, before: this.descriptorsSeen });
    }
    frame.list.flags = flags & PUBLIC_FLAGS;
    if ((flags & NvFlag.NO_UNIQUE) !== 0) frame.names = null;
    if (setIsbe) this.isbe = be;
    this.pos = at + NVLIST_HEADER_SIZE;
  }

  /** nvlist_move_nvpair(): the duplicate-name check, then the append. */
  add(frame: Frame, pair: NvPair, key: string, at: number): void {
    if (frame.names !== null) {
      const k = (frame.list.flags & NvFlag.IGNORE_CASE) !== 0 ? asciiLower(key) : key;
      if (frame.names.has(k)) this.fail(`duplicate name '${pair.name}' in one nvlist`, at);
      frame.names.add(k);
    }
    frame.list.pairs.push(pair);
  }

  decode(start: number, end: number, at: number, what: string): string {
    try {
      return this.text.decode(this.b.subarray(start, end));
    } catch {
      return this.fail(`${what} is not valid UTF-8`, at);
    }
  }

  /** The index of the first NUL in [from, to), or -1. */
  nul(from: number, to: number): number {
    const i = this.b.subarray(from, to).indexOf(0);
    return i < 0 ? -1 : from + i;
  }

  /** Checks an array's datasize as libnv does: itemsize * nitems in u64 arithmetic. */
  arraySize(itemSize: bigint, datasize: bigint, nitems: bigint, at: number, type: string): number {
    const size = (itemSize * nitems) & U64_MASK;
    if (nitems === 0n) this.fail(`${type} with 0 items`, at + P_NITEMS);
    if (datasize !== size || size < nitems || size > BigInt(this.n - this.pos)) {
      this.fail(
        `${type} of ${nitems} items with datasize ${datasize} (want ${itemSize * nitems})`,
        at + P_DATASIZE,
      );
    }
    return Number(nitems);
  }

  descriptorIndex(pos: number): NvDescriptor {
    const idx = this.v.getBigInt64(pos, !this.isbe);
    if (idx < 0n) this.fail(`negative descriptor index ${idx}`, pos);
    if (idx >= this.nfds) {
      this.fail(`descriptor index ${idx} out of range (${this.nfds} fds)`, pos);
    }
    this.descriptorsSeen += 1;
    return { fd: Number(idx) };
  }

  run(expectFlags: number): NvList {
    const top = newFrame(TOP, null);
    this.header(top, true, true);
    if (top.list.flags !== expectFlags) {
      this.fail(
        `nvlist flags ${hex(top.list.flags)} differ from the expected ${hex(expectFlags)}`,
        H_FLAGS,
      );
    }
    const b = this.b;
    const v = this.v;
    const strict = this.strict;
    let frame = top;
    while (this.pos < this.n) {
      const at = this.pos;
      if (this.n - at < NVPAIR_HEADER_SIZE) {
        this.fail(
          `truncated pair header: ${this.n - at} bytes left, need ${NVPAIR_HEADER_SIZE}`,
          at,
        );
      }
      const type = b[at];
      if (
        (type < NvType.NULL || type > NvType.DESCRIPTOR_ARRAY) &&
        type !== NV_TYPE_NVLIST_ARRAY_NEXT && type !== NV_TYPE_NVLIST_UP
      ) {
        this.fail(`unknown pair type ${type}`, at);
      }
      const le = !this.isbe;
      const namesize = v.getUint16(at + P_NAMESIZE, le);
      const datasize = v.getBigUint64(at + P_DATASIZE, le);
      const nitems = v.getBigUint64(at + P_NITEMS, le);
      const nameAt = at + NVPAIR_HEADER_SIZE;
      if (namesize > NV_NAME_MAX) {
        this.fail(`name size ${namesize} exceeds NV_NAME_MAX ${NV_NAME_MAX}`, at + P_NAMESIZE);
      }
      if (this.n - nameAt < namesize) {
        this.fail(
          `truncated name: ${namesize} bytes needed, ${this.n - nameAt} left`,
          at + P_NAMESIZE,
        );
      }
      if (namesize < 1) {
        this.fail(`name size ${namesize} (the name must at least hold its NUL)`, at + P_NAMESIZE);
      }
      const nul = this.nul(nameAt, nameAt + namesize);
      if (nul !== nameAt + namesize - 1) {
        this.fail("name is not NUL-terminated exactly at its last byte", nameAt);
      }
      this.pos = nameAt + namesize;
      const left = this.n - this.pos;
      if (datasize > BigInt(left)) {
        this.fail(`truncated data: datasize ${datasize}, ${left} bytes left`, at + P_DATASIZE);
      }
      const ds = Number(datasize);

      if (type === NV_TYPE_NVLIST_UP || type === NV_TYPE_NVLIST_ARRAY_NEXT) {
        if (strict) {
          if (namesize !== 1 || datasize !== 0n || nitems !== 0n) {
            this.fail("end marker with a name, data or items", at);
          }
          if (type === NV_TYPE_NVLIST_UP && frame.kind !== NESTED) {
            this.fail("end-of-nvlist marker outside of a nested nvlist", at);
          }
          if (type === NV_TYPE_NVLIST_ARRAY_NEXT && frame.kind !== ELEMENT) {
            this.fail("end-of-array-element marker outside of an nvlist array element", at);
          }
        }
        if (type === NV_TYPE_NVLIST_ARRAY_NEXT && frame.next !== null) {
          frame = frame.next;
          this.header(frame, true, false);
        } else {
          if (frame.parent === null) this.fail("end marker at the top level", at);
          frame = frame.parent;
        }
        continue;
      }

      if (strict && type < NvType.BOOL_ARRAY && nitems !== 0n) {
        this.fail(`non-array pair with nitems ${nitems}`, at + P_NITEMS);
      }
      const key = latin1(b, nameAt, nameAt + namesize - 1);
      const name = this.decode(nameAt, nameAt + namesize - 1, nameAt, "name");
      const dataAt = this.pos;
      let pair: NvPair;
      let child: Frame | null = null;
      switch (type) {
        case NvType.NULL:
          if (ds !== 0) this.fail(`NULL pair with datasize ${datasize}`, at + P_DATASIZE);
          pair = { name, type, value: null };
          break;
        case NvType.BOOL: {
          if (ds !== 1) this.fail(`BOOL pair with datasize ${datasize}`, at + P_DATASIZE);
          const value = b[dataAt];
          if (value > 1) this.fail(`BOOL value ${value} is neither 0 nor 1`, dataAt);
          pair = { name, type, value: value === 1 };
          this.pos += 1;
          break;
        }
        case NvType.NUMBER:
          if (ds !== 8) this.fail(`NUMBER pair with datasize ${datasize}`, at + P_DATASIZE);
          pair = { name, type, value: v.getBigUint64(dataAt, le) };
          this.pos += 8;
          break;
        case NvType.STRING: {
          if (ds === 0) this.fail(`STRING pair with datasize ${datasize}`, at + P_DATASIZE);
          if (this.nul(dataAt, dataAt + ds) !== dataAt + ds - 1) {
            this.fail("STRING is not NUL-terminated exactly at its last byte", dataAt);
          }
          pair = { name, type, value: this.decode(dataAt, dataAt + ds - 1, dataAt, "STRING") };
          this.pos += ds;
          break;
        }
        case NvType.NVLIST:
          if (ds === 0) this.fail(`NVLIST pair with datasize ${datasize}`, at + P_DATASIZE);
          child = newFrame(NESTED, frame);
          this.header(child, false, false);
          pair = { name, type, value: child.list };
          break;
        case NvType.DESCRIPTOR:
          if (ds !== 8) this.fail(`DESCRIPTOR pair with datasize ${datasize}`, at + P_DATASIZE);
          pair = { name, type, value: this.descriptorIndex(dataAt) };
          this.pos += 8;
          break;
        case NvType.BINARY:
          if (ds === 0) this.fail(`BINARY pair with datasize ${datasize}`, at + P_DATASIZE);
          pair = { name, type, value: b.slice(dataAt, dataAt + ds) };
          this.pos += ds;
          break;
        case NvType.BOOL_ARRAY: {
          const count = this.arraySize(1n, datasize, nitems, at, "BOOL_ARRAY");
          const value: boolean[] = [];
          for (let i = 0; i < count; i++) {
            const item = b[dataAt + i];
            if (strict && item > 1) {
              this.fail("BOOL_ARRAY item is neither 0 nor 1", dataAt + i);
            }
            value.push(item !== 0);
          }
          pair = { name, type, value };
          this.pos += count;
          break;
        }
        case NvType.NUMBER_ARRAY: {
          const count = this.arraySize(8n, datasize, nitems, at, "NUMBER_ARRAY");
          const value: bigint[] = [];
          for (let i = 0; i < count; i++) value.push(v.getBigUint64(dataAt + 8 * i, le));
          pair = { name, type, value };
          this.pos += 8 * count;
          break;
        }
        case NvType.DESCRIPTOR_ARRAY: {
          const count = this.arraySize(8n, datasize, nitems, at, "DESCRIPTOR_ARRAY");
          const value: NvDescriptor[] = [];
          for (let i = 0; i < count; i++) value.push(this.descriptorIndex(dataAt + 8 * i));
          pair = { name, type, value };
          this.pos += 8 * count;
          break;
        }
        case NvType.STRING_ARRAY:
          pair = { name, type, value: this.stringArray(at, dataAt, ds, nitems) };
          break;
        case NvType.NVLIST_ARRAY: {
          const sizeup = (BigInt(NVPAIR_HEADER_SIZE) * nitems) & U64_MASK;
          if (nitems === 0n) this.fail("NVLIST_ARRAY with 0 items", at + P_NITEMS);
          if (sizeup < nitems || sizeup > BigInt(left)) {
            this.fail(
              `NVLIST_ARRAY of ${nitems} items cannot fit in ${left} bytes`,
              at + P_NITEMS,
            );
          }
          if (strict && ds !== 0) {
            this.fail(`NVLIST_ARRAY pair with datasize ${datasize} (want 0)`, at + P_DATASIZE);
          }
          const count = Number(nitems); // at most left / 19
          const elements: Frame[] = [];
          for (let i = 0; i < count; i++) {
            const el = newFrame(ELEMENT, frame);
            if (i > 0) elements[i - 1].next = el;
            elements.push(el);
          }
          child = elements[0];
          this.header(child, true, false);
          pair = { name, type, value: elements.map((el) => el.list) };
          break;
        }
        default:
          this.fail(`unknown pair type ${type}`, at);
      }
      this.add(frame, pair, key, at);
      if (child !== null) frame = child;
    }
    if (strict) {
      if (frame !== top) {
        let open = 0;
        for (let f: Frame | null = frame; f !== null && f !== top; f = f.parent) open++;
        this.fail(`buffer ends inside a nested nvlist (${open} level(s) open)`, this.n);
      }
      for (const h of this.headers) {
        const follow = this.descriptorsSeen - h.before;
        if (h.descriptors !== BigInt(follow)) {
          this.fail(
            `nvlist header claims ${h.descriptors} descriptors, ${follow} follow it`,
            h.offset,
          );
        }
      }
    }
    return top.list;
  }

  /**
   * nvpair_unpack_string_array(). libnv's length scan gives each item up to the bytes left minus
   * one, so the last item may lack its NUL inside datasize; the copy then runs to the real NUL
   * and advances by the real lengths. Where that NUL is past the end of the buffer libnv reads
   * out of bounds; this refuses instead.
   */
  stringArray(at: number, dataAt: number, ds: number, nitems: bigint): string[] {
    if (ds === 0 || nitems === 0n) {
      this.fail(`STRING_ARRAY with datasize ${ds} and ${nitems} items`, at + P_DATASIZE);
    }
    const end = dataAt + ds;
    const values: string[] = [];
    if (this.strict) {
      if (this.b[end - 1] !== 0) this.fail("STRING_ARRAY does not end with a NUL", end - 1);
      let p = dataAt;
      while (p < end) {
        const z = this.nul(p, end);
        values.push(this.decode(p, z, p, "STRING_ARRAY item"));
        p = z + 1;
      }
      if (BigInt(values.length) !== nitems) {
        this.fail(
          `STRING_ARRAY holds ${values.length} strings, nitems says ${nitems}`,
          at + P_NITEMS,
        );
      }
      this.pos = end;
      return values;
    }
    let size = ds;
    let tmp = dataAt;
    const count = nitems > BigInt(ds) ? ds + 1 : Number(nitems);
    for (let i = 0; i < count; i++) {
      if (size === 0) this.fail(`STRING_ARRAY holds fewer than ${nitems} strings`, at + P_NITEMS);
      const z = this.nul(tmp, tmp + size - 1);
      const len = (z < 0 ? size - 1 : z - tmp) + 1;
      size -= len;
      tmp += len;
    }
    if (size !== 0) this.fail(`STRING_ARRAY holds more than ${nitems} strings`, at + P_NITEMS);
    let p = dataAt;
    for (let i = 0; i < count; i++) {
      const z = this.nul(p, this.n);
      if (z < 0) this.fail("STRING_ARRAY item runs past the end of the buffer", p);
      values.push(this.decode(p, z, p, "STRING_ARRAY item"));
      p = z + 1;
    }
    this.pos = p;
    return values;
  }
}

function latin1(b: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}

/**
 * Unpacks a packed nvlist of either byte order.
 *
 * @param bytes The whole buffer, exactly (libnv checks every header `size` against it).
 * @param options Strict or libnv-compatible checking, descriptors received, expected flags.
 * @returns The list; nested lists and arrays are decoded too.
 * @throws {NvListError} The buffer is malformed; names the field and its offset.
 * @example Usage
 * ```ts
 * import { NvListError, nvList, nvNumber, packNvList, unpackNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * const bytes = packNvList(nvList([nvNumber("sqhd", 5)]), { bigEndian: true });
 * assert.deepEqual(unpackNvList(bytes).pairs, [{ name: "sqhd", type: 3, value: 5n }]);
 * bytes[1] = 1; // version: libnv ignores it, strict refuses
 * assert.equal(unpackNvList(bytes, { strict: false }).pairs.length, 1);
 * assert.throws(() => unpackNvList(bytes), NvListError);
 * ```
 */
export function unpackNvList(bytes: Uint8Array, options: UnpackOptions = {}): NvList {
  const descriptors = options.descriptors ?? 0;
  if (!Number.isSafeInteger(descriptors) || descriptors < 0) {
    throw new RangeError(`Cannot unpack nvlist: descriptors ${descriptors} is not >= 0`);
  }
  const u = new Unpacker(bytes, options.strict ?? true, descriptors);
  return u.run(options.flags ?? 0);
}
