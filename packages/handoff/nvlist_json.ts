/**
 * The JSON form of an nvlist, the shape of the `nvlist` member of the libnv fixture files:
 * {@linkcode nvListToJson} and its inverse {@linkcode nvListFromJson}. NUMBERs above 2^53 - 1
 * become decimal strings, BINARY lowercase hex, descriptors their index.
 *
 * @example Usage
 * ```ts
 * import { nvList, nvListFromJson, nvListToJson, nvNumber } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * const list = nvList([nvNumber("qsize", 32)]);
 * assert.deepEqual(nvListFromJson(JSON.parse(JSON.stringify(nvListToJson(list)))), list);
 * ```
 *
 * @module
 */

import { bytesToHex as toHex, HEX_BYTES, hexToBytes as fromHex } from "@nvmf/proto/bytes";
import { U64_MASK } from "./_nvlist_wire.ts";
import {
  type NvDescriptor,
  type NvList,
  NvType,
  type NvTypeName,
  nvTypeName,
} from "./nvlist_types.ts";

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
          return { name: p.name, type, value: toHex(p.value) };
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
  if (typeof v !== "string" || !HEX_BYTES.test(v)) {
    return jsonFail(where, "BINARY is not an even-length hex string");
  }
  return fromHex(v);
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
