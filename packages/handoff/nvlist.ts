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

export {
  NV_NAME_MAX,
  NV_TYPE_NVLIST_ARRAY_NEXT,
  NV_TYPE_NVLIST_UP,
  type NvBinaryPair,
  type NvBoolArrayPair,
  type NvBoolPair,
  type NvDescriptor,
  type NvDescriptorArrayPair,
  type NvDescriptorPair,
  NvFlag,
  type NvList,
  NVLIST_HEADER_MAGIC,
  NVLIST_HEADER_SIZE,
  NVLIST_HEADER_VERSION,
  type NvNullPair,
  type NvNumberArrayPair,
  type NvNumberPair,
  type NvNvListArrayPair,
  type NvNvListPair,
  type NvPair,
  NVPAIR_HEADER_SIZE,
  type NvPairOf,
  type NvStringArrayPair,
  type NvStringPair,
  NvType,
  type NvTypeCode,
  type NvTypeName,
  nvTypeName,
  type NvValueOf,
} from "./nvlist_types.ts";
export { NvFieldError, NvListError } from "./nvlist_errors.ts";
export {
  nvBinary,
  nvBool,
  nvBoolArray,
  nvDescriptor,
  nvDescriptorArray,
  nvList,
  nvNull,
  nvNumber,
  nvNumberArray,
  nvNvList,
  nvNvListArray,
  nvString,
  nvStringArray,
} from "./nvlist_build.ts";
export {
  nvFind,
  nvGetBinary,
  nvGetBool,
  nvGetNumber,
  nvGetNvList,
  nvGetNvListArray,
  nvGetString,
  nvGetTyped,
} from "./nvlist_get.ts";
export { nvListSize, packNvList, type PackOptions } from "./nvlist_pack.ts";
export { unpackNvList, type UnpackOptions } from "./nvlist_unpack.ts";
export { nvListFromJson, type NvListJson, nvListToJson, type NvPairJson } from "./nvlist_json.ts";
