/**
 * The nvlist model of `@nvmf/handoff/nvlist`: libnv's pair type codes and flags, the sizes and
 * markers of its packed format (sys/contrib/libnv/nvlist.c, nvpair.c, nv_impl.h, sys/nv.h), and
 * the {@linkcode NvList} and {@linkcode NvPair} types the builders make and the codecs read and
 * write.
 *
 * @example Usage
 * ```ts
 * import { NvType, nvTypeName, type NvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * const list: NvList = { flags: 0, pairs: [{ name: "qsize", type: NvType.NUMBER, value: 32n }] };
 * assert.equal(nvTypeName(list.pairs[0].type), "NUMBER");
 * ```
 *
 * @module
 */

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
