/**
 * FreeBSD libnv packed nvlists: the byte format `nvlist_pack()` writes and `nvlist_unpack()`
 * reads (sys/contrib/libnv/nvlist.c, nvpair.c), which FreeBSD's libnvmf uses to hand queue
 * pairs to the kernel.
 *
 * {@linkcode packNvList} is byte-identical to libnv, including its header sizes: every nvlist
 * header's `size` counts the bytes from the end of that header to the end of the whole buffer,
 * `descriptors` counts the descriptors from there to the end, and an NVLIST pair's `datasize` is
 * libnv's `nvlist_size()` of the child. {@linkcode unpackNvList} reads both byte orders. In
 * strict mode (the default) it refuses everything malformed; with `strict: false` it accepts and
 * refuses exactly what libnv's `nvlist_unpack(buf, len, 0)` does, except that it never reads
 * outside the buffer (where libnv would, it refuses). It never allocates more than the input
 * holds: every count and size is checked against the bytes left first.
 *
 * Values: NUMBER is a `bigint` (u64), BOOL a `boolean`, STRING a `string` (UTF-8), BINARY a
 * `Uint8Array`, NVLIST an {@linkcode NvList}, DESCRIPTOR a {@linkcode NvDescriptor} (the index
 * of the descriptor in the array sent beside the buffer), and arrays of each. Pairs keep wire
 * order, which is libnv's insertion order.
 *
 * @example Usage
 * ```ts
 * import { nvBool, nvGetNumber, nvList, nvNumber, packNvList, unpackNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 *
 * const bytes = packNvList(nvList([nvBool("admin", true), nvNumber("qsize", 32)]));
 * assert.equal(bytes.length, 19 + (19 + 6 + 1) + (19 + 6 + 8));
 * assert.equal(nvGetNumber(unpackNvList(bytes), "qsize"), 32n);
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------
// Format constants (libnv's own, sys/contrib/libnv/nvlist.c, nvpair.c, nv_impl.h, sys/nv.h)

/** Pair types (sys/nv.h `NV_TYPE_*`). */
export const NvType = {
  NULL: 1,
  BOOL: 2,
  NUMBER: 3,
  STRING: 4,
  NVLIST: 5,
  DESCRIPTOR: 6,
  BINARY: 7,
  BOOL_ARRAY: 8,
  NUMBER_ARRAY: 9,
  STRING_ARRAY: 10,
  NVLIST_ARRAY: 11,
  DESCRIPTOR_ARRAY: 12,
} as const;

/** One of the {@linkcode NvType} codes. */
export type NvTypeCode = typeof NvType[keyof typeof NvType];
/** One of the {@linkcode NvType} names, e.g. `"NUMBER"`. */
export type NvTypeName = keyof typeof NvType;

/** nvlist flags (sys/nv.h `NV_FLAG_*`, nv_impl.h `NV_FLAG_BIG_ENDIAN`). */
export const NvFlag = {
  /** Names compare case-insensitively (ASCII, as `strcasecmp`). */
  IGNORE_CASE: 0x01,
  /** Duplicate names are allowed. */
  NO_UNIQUE: 0x02,
  /** Header only: the multi-byte integers that follow are big-endian. */
  BIG_ENDIAN: 0x80,
} as const;

/** Largest pair `namesize`: the name plus its NUL (sys/nv.h `NV_NAME_MAX`). */
export const NV_NAME_MAX = 2048;
/** Size of an nvlist header: magic, version, flags, u64 descriptors, u64 size. */
export const NVLIST_HEADER_SIZE = 19;
/** Size of a pair header: u8 type, u16 namesize, u64 datasize, u64 nitems. */
export const NVPAIR_HEADER_SIZE = 19;
/** The nvlist header magic, `'l'`. */
export const NVLIST_HEADER_MAGIC = 0x6c;
/** The only nvlist header version libnv writes. */
export const NVLIST_HEADER_VERSION = 0;
/** End marker after the pairs of an element of an NVLIST_ARRAY (`NV_TYPE_NVLIST_ARRAY_NEXT`). */
export const NV_TYPE_NVLIST_ARRAY_NEXT = 254;
/** End marker after the pairs of a nested NVLIST (`NV_TYPE_NVLIST_UP`). */
export const NV_TYPE_NVLIST_UP = 255;

const PUBLIC_FLAGS = NvFlag.IGNORE_CASE | NvFlag.NO_UNIQUE;
const HEADER_FLAGS = PUBLIC_FLAGS | NvFlag.BIG_ENDIAN;
// Header field offsets.
const H_VERSION = 1;
const H_FLAGS = 2;
const H_DESCRIPTORS = 3;
const H_SIZE = 11;
// Pair header field offsets.
const P_NAMESIZE = 1;
const P_DATASIZE = 3;
const P_NITEMS = 11;
/** Size of an end marker: a pair header and the empty name. */
const MARKER_SIZE = NVPAIR_HEADER_SIZE + 1;
/** Cost of a nested list beyond its pair: its header and its end marker. */
const NESTED_COST = NVLIST_HEADER_SIZE + MARKER_SIZE;
const U64_MASK = (1n << 64n) - 1n;

// ---------------------------------------------------------------------------------------------
// Model

/** A DESCRIPTOR value: the index of the descriptor in the array sent beside the buffer. */
export interface NvDescriptor {
  /** Index into the descriptor array (SCM_RIGHTS); libnv swaps in the received fd. */
  fd: number;
}

/** An nvlist: flags (IGNORE_CASE, NO_UNIQUE) and its pairs in wire (insertion) order. */
export interface NvList {
  /** {@linkcode NvFlag.IGNORE_CASE} and {@linkcode NvFlag.NO_UNIQUE}; 0 for plain lists. */
  flags: number;
  /** Pairs in wire order. */
  pairs: NvPair[];
}

/** A pair of type `T` with a value of type `V`; {@linkcode NvPair} is the union of these. */
export interface NvPairOf<T extends NvTypeCode, V> {
  /** Pair name: no NUL, at most {@linkcode NV_NAME_MAX} - 1 UTF-8 bytes. */
  name: string;
  /** Pair type. */
  type: T;
  /** Pair value. */
  value: V;
}

/** A NULL pair. */
export type NvNullPair = NvPairOf<typeof NvType.NULL, null>;
/** A BOOL pair. */
export type NvBoolPair = NvPairOf<typeof NvType.BOOL, boolean>;
/** A NUMBER pair (u64). */
export type NvNumberPair = NvPairOf<typeof NvType.NUMBER, bigint>;
/** A STRING pair. */
export type NvStringPair = NvPairOf<typeof NvType.STRING, string>;
/** An NVLIST pair. */
export type NvNvListPair = NvPairOf<typeof NvType.NVLIST, NvList>;
/** A DESCRIPTOR pair. */
export type NvDescriptorPair = NvPairOf<typeof NvType.DESCRIPTOR, NvDescriptor>;
/** A BINARY pair (at least one byte). */
export type NvBinaryPair = NvPairOf<typeof NvType.BINARY, Uint8Array>;
/** A BOOL_ARRAY pair. */
export type NvBoolArrayPair = NvPairOf<typeof NvType.BOOL_ARRAY, boolean[]>;
/** A NUMBER_ARRAY pair. */
export type NvNumberArrayPair = NvPairOf<typeof NvType.NUMBER_ARRAY, bigint[]>;
/** A STRING_ARRAY pair. */
export type NvStringArrayPair = NvPairOf<typeof NvType.STRING_ARRAY, string[]>;
/** An NVLIST_ARRAY pair. */
export type NvNvListArrayPair = NvPairOf<typeof NvType.NVLIST_ARRAY, NvList[]>;
/** A DESCRIPTOR_ARRAY pair. */
export type NvDescriptorArrayPair = NvPairOf<typeof NvType.DESCRIPTOR_ARRAY, NvDescriptor[]>;

/** One name/value pair of an {@linkcode NvList}; `type` tells the type of `value`. */
export type NvPair =
  | NvNullPair
  | NvBoolPair
  | NvNumberPair
  | NvStringPair
  | NvNvListPair
  | NvDescriptorPair
  | NvBinaryPair
  | NvBoolArrayPair
  | NvNumberArrayPair
  | NvStringArrayPair
  | NvNvListArrayPair
  | NvDescriptorArrayPair;

/** The value type of the pairs of type `T`. */
export type NvValueOf<T extends NvTypeCode> = Extract<NvPair, { type: T }>["value"];

/**
 * Returns the name of a pair type code.
 *
 * @param type A type code.
 * @returns Its name, e.g. `"NUMBER"`, or `undefined` for an unknown code.
 * @example Usage
 * ```ts
 * import { nvTypeName } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvTypeName(3), "NUMBER");
 * assert.equal(nvTypeName(254), undefined);
 * ```
 */
export function nvTypeName(type: number): NvTypeName | undefined {
  for (const key in NvType) {
    if (NvType[key as NvTypeName] === type) return key as NvTypeName;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * A packed nvlist cannot be unpacked: names the field and its byte offset in the buffer.
 *
 * @example Usage
 * ```ts
 * import { NvListError, unpackNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.throws(() => unpackNvList(new Uint8Array(3)), (e: unknown) => {
 *   assert.ok(e instanceof NvListError);
 *   assert.equal(e.offset, 0);
 *   return true;
 * });
 * ```
 */
export class NvListError extends Error {
  /** Byte offset, in the whole buffer, of the field that is wrong. */
  readonly offset: number;
  /** What is wrong, without the offset, e.g. `"unknown pair type 0"`. */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param reason What is wrong with the field.
   * @param offset Byte offset of the field in the buffer.
   */
  constructor(reason: string, offset: number) {
    super(`Cannot unpack nvlist at byte ${offset}: ${reason}`);
    this.name = "NvListError";
    this.offset = offset;
    this.reason = reason;
  }
}

/**
 * A field of an nvlist is missing, has the wrong type, or holds a value the reader cannot use.
 *
 * @example Usage
 * ```ts
 * import { NvFieldError, nvGetBool, nvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.throws(() => nvGetBool(nvList([]), "admin"), (e: unknown) => {
 *   assert.ok(e instanceof NvFieldError);
 *   assert.equal(e.field, "admin");
 *   return true;
 * });
 * ```
 */
export class NvFieldError extends Error {
  /** Path of the field, e.g. `"rparams.io_qsize"` or `"io[1].qsize"`. */
  readonly field: string;
  /** What is wrong with it. */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param field Path of the field.
   * @param reason What is wrong with it.
   */
  constructor(field: string, reason: string) {
    super(`Cannot use nvlist field "${field}": ${reason}`);
    this.name = "NvFieldError";
    this.field = field;
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------------------------
// Builders

/**
 * Creates an nvlist.
 *
 * @param pairs Its pairs, in order.
 * @param flags {@linkcode NvFlag.IGNORE_CASE} and/or {@linkcode NvFlag.NO_UNIQUE}.
 * @returns The list (it holds `pairs` itself, not a copy).
 * @example Usage
 * ```ts
 * import { nvList, nvNull } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvList([nvNull("x")]), { flags: 0, pairs: [{ name: "x", type: 1, value: null }] });
 * ```
 */
export function nvList(pairs: NvPair[] = [], flags = 0): NvList {
  return { flags, pairs };
}

/**
 * Creates a NULL pair.
 *
 * @param name Pair name.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { NvType, nvNull } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvNull("x").type, NvType.NULL);
 * ```
 */
export function nvNull(name: string): NvNullPair {
  return { name, type: NvType.NULL, value: null };
}

/**
 * Creates a BOOL pair.
 *
 * @param name Pair name.
 * @param value The value.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvBool } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvBool("admin", true).value, true);
 * ```
 */
export function nvBool(name: string, value: boolean): NvBoolPair {
  return { name, type: NvType.BOOL, value };
}

/**
 * Creates a NUMBER pair.
 *
 * @param name Pair name.
 * @param value The value, 0 to 2^64 - 1; a `number` must be a safe integer.
 * @returns The pair, its value a `bigint`.
 * @example Usage
 * ```ts
 * import { nvNumber } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvNumber("qsize", 32).value, 32n);
 * ```
 */
export function nvNumber(name: string, value: bigint | number): NvNumberPair {
  return { name, type: NvType.NUMBER, value: toU64(value, name) };
}

/**
 * Creates a STRING pair.
 *
 * @param name Pair name.
 * @param value The value; it must not contain NUL.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvString } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvString("hostnqn", "nqn.x").value, "nqn.x");
 * ```
 */
export function nvString(name: string, value: string): NvStringPair {
  return { name, type: NvType.STRING, value };
}

/**
 * Creates an NVLIST pair.
 *
 * @param name Pair name.
 * @param value The nested list.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvList, nvNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvNvList("params", nvList()).value, { flags: 0, pairs: [] });
 * ```
 */
export function nvNvList(name: string, value: NvList): NvNvListPair {
  return { name, type: NvType.NVLIST, value };
}

/**
 * Creates a DESCRIPTOR pair.
 *
 * @param name Pair name.
 * @param fd Index of the descriptor in the array sent beside the buffer.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvDescriptor } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvDescriptor("s", 0).value, { fd: 0 });
 * ```
 */
export function nvDescriptor(name: string, fd: number): NvDescriptorPair {
  return { name, type: NvType.DESCRIPTOR, value: { fd } };
}

/**
 * Creates a BINARY pair.
 *
 * @param name Pair name.
 * @param value The bytes (libnv needs at least one); held, not copied.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvBinary } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvBinary("cmd", new Uint8Array(64)).value.length, 64);
 * ```
 */
export function nvBinary(name: string, value: Uint8Array): NvBinaryPair {
  return { name, type: NvType.BINARY, value };
}

/**
 * Creates a BOOL_ARRAY pair.
 *
 * @param name Pair name.
 * @param value The items (at least one).
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvBoolArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvBoolArray("ba", [true]).value, [true]);
 * ```
 */
export function nvBoolArray(name: string, value: boolean[]): NvBoolArrayPair {
  return { name, type: NvType.BOOL_ARRAY, value };
}

/**
 * Creates a NUMBER_ARRAY pair.
 *
 * @param name Pair name.
 * @param value The items (at least one), each 0 to 2^64 - 1.
 * @returns The pair, its items `bigint`s.
 * @example Usage
 * ```ts
 * import { nvNumberArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvNumberArray("na", [1, 2n]).value, [1n, 2n]);
 * ```
 */
export function nvNumberArray(name: string, value: (bigint | number)[]): NvNumberArrayPair {
  return { name, type: NvType.NUMBER_ARRAY, value: value.map((v) => toU64(v, name)) };
}

/**
 * Creates a STRING_ARRAY pair.
 *
 * @param name Pair name.
 * @param value The items (at least one), none containing NUL.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvStringArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvStringArray("sa", ["a", ""]).value, ["a", ""]);
 * ```
 */
export function nvStringArray(name: string, value: string[]): NvStringArrayPair {
  return { name, type: NvType.STRING_ARRAY, value };
}

/**
 * Creates an NVLIST_ARRAY pair.
 *
 * @param name Pair name.
 * @param value The lists (at least one).
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvList, nvNvListArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvNvListArray("io", [nvList(), nvList()]).value.length, 2);
 * ```
 */
export function nvNvListArray(name: string, value: NvList[]): NvNvListArrayPair {
  return { name, type: NvType.NVLIST_ARRAY, value };
}

/**
 * Creates a DESCRIPTOR_ARRAY pair.
 *
 * @param name Pair name.
 * @param fds Indices of the descriptors in the array sent beside the buffer (at least one).
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvDescriptorArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvDescriptorArray("fds", [1, 2]).value, [{ fd: 1 }, { fd: 2 }]);
 * ```
 */
export function nvDescriptorArray(name: string, fds: number[]): NvDescriptorArrayPair {
  return { name, type: NvType.DESCRIPTOR_ARRAY, value: fds.map((fd) => ({ fd })) };
}

function toU64(value: bigint | number, name: string): bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot make NUMBER "${name}": ${value} is not a u64 safe integer`);
    }
    return BigInt(value);
  }
  if (value < 0n || value > U64_MASK) {
    throw new RangeError(`Cannot make NUMBER "${name}": ${value} is outside 0 to 2^64 - 1`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Accessors

function nameKey(name: string, flags: number): string {
  return (flags & NvFlag.IGNORE_CASE) !== 0 ? asciiLower(name) : name;
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/**
 * Finds a pair the way libnv's `nvlist_find()` does: the first with this name (compared as
 * `strcasecmp` when the list has IGNORE_CASE) and, if `type` is given, this type.
 *
 * @param list The list to search (not its children).
 * @param name The name.
 * @param type Only a pair of this type matches, if given.
 * @returns The pair, or `undefined`.
 * @example Usage
 * ```ts
 * import { NvType, nvFind, nvList, nvNumber } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * const list = nvList([nvNumber("qsize", 2)]);
 * assert.equal(nvFind(list, "qsize", NvType.NUMBER)?.value, 2n);
 * assert.equal(nvFind(list, "qsize", NvType.BOOL), undefined);
 * ```
 */
export function nvFind<T extends NvTypeCode>(
  list: NvList,
  name: string,
  type?: T,
): Extract<NvPair, { type: T }> | undefined {
  const key = nameKey(name, list.flags);
  for (const pair of list.pairs) {
    if (type !== undefined && pair.type !== type) continue;
    if (nameKey(pair.name, list.flags) === key) return pair as Extract<NvPair, { type: T }>;
  }
  return undefined;
}

/**
 * Returns the first pair with this name, of any type.
 *
 * @param list The list to search.
 * @param name The name.
 * @returns The pair, or `undefined`.
 * @example Usage
 * ```ts
 * import { nvBool, nvGet, nvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGet(nvList([nvBool("admin", false)]), "admin")?.value, false);
 * ```
 */
export function nvGet(list: NvList, name: string): NvPair | undefined {
  return nvFind(list, name);
}

function fieldPath(where: string, name: string): string {
  return where === "" ? name : `${where}.${name}`;
}

/**
 * Returns the value of the pair named `name` of type `type`, throwing if there is none.
 *
 * @param list The list.
 * @param name The name.
 * @param type The type the caller needs.
 * @param where Path of `list` for error messages, e.g. `"rparams"`.
 * @returns The value.
 * @throws {NvFieldError} The pair is missing or has another type.
 * @example Usage
 * ```ts
 * import { NvType, nvGetTyped, nvList, nvString } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetTyped(nvList([nvString("s", "x")]), "s", NvType.STRING), "x");
 * assert.throws(() => nvGetTyped(nvList([nvString("s", "x")]), "s", NvType.NUMBER), /STRING/);
 * ```
 */
export function nvGetTyped<T extends NvTypeCode>(
  list: NvList,
  name: string,
  type: T,
  where = "",
): NvValueOf<T> {
  const pair = nvFind(list, name, type);
  if (pair !== undefined) return pair.value as NvValueOf<T>;
  const other = nvFind(list, name);
  const want = nvTypeName(type);
  if (other === undefined) throw new NvFieldError(fieldPath(where, name), `missing ${want}`);
  throw new NvFieldError(
    fieldPath(where, name),
    `want ${want}, found ${nvTypeName(other.type)}`,
  );
}

/**
 * Returns a BOOL value.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The value.
 * @throws {NvFieldError} The pair is missing or not a BOOL.
 * @example Usage
 * ```ts
 * import { nvBool, nvGetBool, nvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetBool(nvList([nvBool("admin", true)]), "admin"), true);
 * ```
 */
export function nvGetBool(list: NvList, name: string, where = ""): boolean {
  return nvGetTyped(list, name, NvType.BOOL, where);
}

/**
 * Returns a NUMBER value.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The value.
 * @throws {NvFieldError} The pair is missing or not a NUMBER.
 * @example Usage
 * ```ts
 * import { nvGetNumber, nvList, nvNumber } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetNumber(nvList([nvNumber("qsize", 32)]), "qsize"), 32n);
 * ```
 */
export function nvGetNumber(list: NvList, name: string, where = ""): bigint {
  return nvGetTyped(list, name, NvType.NUMBER, where);
}

/**
 * Returns a STRING value.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The value.
 * @throws {NvFieldError} The pair is missing or not a STRING.
 * @example Usage
 * ```ts
 * import { nvGetString, nvList, nvString } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetString(nvList([nvString("hostnqn", "nqn.x")]), "hostnqn"), "nqn.x");
 * ```
 */
export function nvGetString(list: NvList, name: string, where = ""): string {
  return nvGetTyped(list, name, NvType.STRING, where);
}

/**
 * Returns a BINARY value.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The bytes (the list's own, not a copy).
 * @throws {NvFieldError} The pair is missing or not a BINARY.
 * @example Usage
 * ```ts
 * import { nvBinary, nvGetBinary, nvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetBinary(nvList([nvBinary("cmd", new Uint8Array(64))]), "cmd").length, 64);
 * ```
 */
export function nvGetBinary(list: NvList, name: string, where = ""): Uint8Array {
  return nvGetTyped(list, name, NvType.BINARY, where);
}

/**
 * Returns a nested NVLIST.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The nested list.
 * @throws {NvFieldError} The pair is missing or not an NVLIST.
 * @example Usage
 * ```ts
 * import { nvGetNvList, nvList, nvNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvGetNvList(nvList([nvNvList("params", nvList())]), "params").pairs, []);
 * ```
 */
export function nvGetNvList(list: NvList, name: string, where = ""): NvList {
  return nvGetTyped(list, name, NvType.NVLIST, where);
}

/**
 * Returns an NVLIST_ARRAY.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The lists.
 * @throws {NvFieldError} The pair is missing or not an NVLIST_ARRAY.
 * @example Usage
 * ```ts
 * import { nvGetNvListArray, nvList, nvNvListArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetNvListArray(nvList([nvNvListArray("io", [nvList()])]), "io").length, 1);
 * ```
 */
export function nvGetNvListArray(list: NvList, name: string, where = ""): NvList[] {
  return nvGetTyped(list, name, NvType.NVLIST_ARRAY, where);
}

// ---------------------------------------------------------------------------------------------
// Packing

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

// ---------------------------------------------------------------------------------------------
// Unpacking

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
      this.fail(`bad nvlist header magic 0x${hex2(b[at])} (want 0x6c)`, at);
    }
    const flags = b[at + H_FLAGS];
    if ((flags & ~HEADER_FLAGS) !== 0) {
      this.fail(`unknown nvlist header flags 0x${hex2(flags)}`, at + H_FLAGS);
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
        `nvlist flags 0x${hex2(top.list.flags)} differ from the expected 0x${hex2(expectFlags)}`,
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

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
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

// ---------------------------------------------------------------------------------------------
// JSON

/** A pair in the JSON form of {@linkcode nvListToJson}. */
export interface NvPairJson {
  /** Pair name. */
  name: string;
  /** Type name, e.g. `"NUMBER"`. */
  type: NvTypeName;
  /**
   * null, boolean, number (NUMBER up to 2^53 - 1, descriptor indices), decimal string (larger
   * NUMBERs), string, lowercase hex (BINARY), a nested {@linkcode NvListJson}, or an array.
   */
  value: unknown;
}

/** The JSON form of an nvlist, as the `nvlist` member of the fixture files. */
export interface NvListJson {
  /** The list's flags. */
  flags: number;
  /** Its pairs. */
  pairs: NvPairJson[];
}

function numberToJson(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function hexOf(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += hex2(x);
  return s;
}

/**
 * Converts an nvlist to JSON-safe values: NUMBERs above 2^53 - 1 become decimal strings, BINARY
 * lowercase hex, descriptors their index; the shape of the fixtures' `nvlist` member.
 *
 * @param list The list.
 * @returns Its JSON form.
 * @example Usage
 * ```ts
 * import { nvBinary, nvList, nvListToJson, nvNumber } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvListToJson(nvList([nvNumber("n", 2n ** 64n - 1n), nvBinary("b", Uint8Array.of(1))])), {
 *   flags: 0,
 *   pairs: [
 *     { name: "n", type: "NUMBER", value: "18446744073709551615" },
 *     { name: "b", type: "BINARY", value: "01" },
 *   ],
 * });
 * ```
 */
export function nvListToJson(list: NvList): NvListJson {
  return {
    flags: list.flags,
    pairs: list.pairs.map((p): NvPairJson => {
      const type = nvTypeName(p.type) as NvTypeName;
      switch (p.type) {
        case NvType.NUMBER:
          return { name: p.name, type, value: numberToJson(p.value) };
        case NvType.NUMBER_ARRAY:
          return { name: p.name, type, value: p.value.map(numberToJson) };
        case NvType.BINARY:
          return { name: p.name, type, value: hexOf(p.value) };
        case NvType.NVLIST:
          return { name: p.name, type, value: nvListToJson(p.value) };
        case NvType.NVLIST_ARRAY:
          return { name: p.name, type, value: p.value.map(nvListToJson) };
        case NvType.DESCRIPTOR:
          return { name: p.name, type, value: p.value.fd };
        case NvType.DESCRIPTOR_ARRAY:
          return { name: p.name, type, value: p.value.map((d) => d.fd) };
        default:
          return { name: p.name, type, value: Array.isArray(p.value) ? [...p.value] : p.value };
      }
    }),
  };
}

function jsonFail(where: string, what: string): never {
  throw new TypeError(`Cannot read nvlist JSON at ${where}: ${what}`);
}

function numberFromJson(v: unknown, where: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^[0-9]+$/.test(v) && BigInt(v) <= U64_MASK) return BigInt(v);
  return jsonFail(where, `${JSON.stringify(v)} is not a u64`);
}

function hexFromJson(v: unknown, where: string): Uint8Array {
  if (typeof v !== "string" || !/^([0-9a-fA-F]{2})*$/.test(v)) {
    return jsonFail(where, "BINARY is not an even-length hex string");
  }
  const out = new Uint8Array(v.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(v.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function arrayFromJson<T>(v: unknown, where: string, item: (x: unknown, w: string) => T): T[] {
  if (!Array.isArray(v)) return jsonFail(where, "not an array");
  return v.map((x, i) => item(x, `${where}[${i}]`));
}

function boolFromJson(v: unknown, where: string): boolean {
  return typeof v === "boolean" ? v : jsonFail(where, "not a boolean");
}

function stringFromJson(v: unknown, where: string): string {
  return typeof v === "string" ? v : jsonFail(where, "not a string");
}

function fdFromJson(v: unknown, where: string): NvDescriptor {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    return jsonFail(where, "not a descriptor index");
  }
  return { fd: v };
}

function listFromJson(json: unknown, where: string): NvList {
  if (typeof json !== "object" || json === null) return jsonFail(where, "not an object");
  const { flags, pairs } = json as { flags?: unknown; pairs?: unknown };
  if (typeof flags !== "number") return jsonFail(where, "flags is not a number");
  const list: NvList = { flags, pairs: [] };
  for (const [i, p] of arrayFromJson(pairs, `${where}.pairs`, (x) => x).entries()) {
    const w = `${where}.pairs[${i}]`;
    if (typeof p !== "object" || p === null) jsonFail(w, "not an object");
    const { name, type, value } = p as { name?: unknown; type?: unknown; value?: unknown };
    if (typeof name !== "string") jsonFail(w, "name is not a string");
    const code = typeof type === "string" && Object.hasOwn(NvType, type)
      ? NvType[type as NvTypeName]
      : jsonFail(w, `unknown type ${JSON.stringify(type)}`);
    const vw = `${w}.value`;
    switch (code) {
      case NvType.NULL:
        if (value !== null) jsonFail(vw, "NULL value is not null");
        list.pairs.push({ name, type: code, value: null });
        break;
      case NvType.BOOL:
        list.pairs.push({ name, type: code, value: boolFromJson(value, vw) });
        break;
      case NvType.NUMBER:
        list.pairs.push({ name, type: code, value: numberFromJson(value, vw) });
        break;
      case NvType.STRING:
        list.pairs.push({ name, type: code, value: stringFromJson(value, vw) });
        break;
      case NvType.NVLIST:
        list.pairs.push({ name, type: code, value: listFromJson(value, vw) });
        break;
      case NvType.DESCRIPTOR:
        list.pairs.push({ name, type: code, value: fdFromJson(value, vw) });
        break;
      case NvType.BINARY:
        list.pairs.push({ name, type: code, value: hexFromJson(value, vw) });
        break;
      case NvType.BOOL_ARRAY:
        list.pairs.push({ name, type: code, value: arrayFromJson(value, vw, boolFromJson) });
        break;
      case NvType.NUMBER_ARRAY:
        list.pairs.push({ name, type: code, value: arrayFromJson(value, vw, numberFromJson) });
        break;
      case NvType.STRING_ARRAY:
        list.pairs.push({ name, type: code, value: arrayFromJson(value, vw, stringFromJson) });
        break;
      case NvType.NVLIST_ARRAY:
        list.pairs.push({ name, type: code, value: arrayFromJson(value, vw, listFromJson) });
        break;
      case NvType.DESCRIPTOR_ARRAY:
        list.pairs.push({ name, type: code, value: arrayFromJson(value, vw, fdFromJson) });
        break;
    }
  }
  return list;
}

/**
 * Builds an nvlist from its JSON form (the inverse of {@linkcode nvListToJson}; NUMBERs may be
 * numbers or decimal strings).
 *
 * @param json The JSON form, e.g. the `nvlist` member of a fixture file.
 * @returns The list.
 * @throws {TypeError} The JSON does not have the shape of {@linkcode NvListJson}.
 * @example Usage
 * ```ts
 * import { nvListFromJson } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * const list = nvListFromJson({ flags: 0, pairs: [{ name: "n", type: "NUMBER", value: "7" }] });
 * assert.equal(list.pairs[0].value, 7n);
 * ```
 */
export function nvListFromJson(json: unknown): NvList {
  return listFromJson(json, "nvlist");
}
