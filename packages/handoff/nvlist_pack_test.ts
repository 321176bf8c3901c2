import { test } from "node:test";
import assert from "node:assert/strict";
import {
  nvBinary,
  nvBool,
  nvBoolArray,
  nvDescriptor,
  nvDescriptorArray,
  nvList,
  nvNull,
  nvNumber,
  nvNvList,
  nvNvListArray,
  nvString,
} from "./nvlist_build.ts";
import { nvListSize, packNvList } from "./nvlist_pack.ts";
import { NvFlag, NvType } from "./nvlist_types.ts";
import { unpackNvList } from "./nvlist_unpack.ts";

test("packNvList() writes a hand-computed small list byte for byte", () => {
  const list = nvList([
    nvBool("a", true),
    nvNumber("n", 0x0102),
    nvNvList("l", nvList([nvNull("x")])),
  ]);
  // Sizes: top header 19; "a" 19+2+1 = 22; "n" 19+2+8 = 29; "l" 19+2 = 21 bytes of pair, then
  // the child header 19, "x" 19+2 = 21, the end marker 20. Total 151.
  // "l" datasize = nvlist_size(child) = 19 + cost("x") = 40 (the child's header and marker are
  // charged to the pair "l", 19+2+39 = 60; 151 - (22 + 29 + 60) = 40).
  // The child header sits at 19+22+29+21 = 91, so its size is 151 - 91 - 19 = 41.
  // deno-fmt-ignore
  const expected = [
    // top header: magic, version, flags, descriptors (u64), size 132 (u64)
    0x6c, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 132, 0, 0, 0, 0, 0, 0, 0,
    // "a": BOOL, namesize 2, datasize 1, nitems 0, "a\0", 1
    0x02, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x61, 0x00, 0x01,
    // "n": NUMBER, namesize 2, datasize 8, nitems 0, "n\0", 0x0102 little-endian
    0x03, 2, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x6e, 0x00,
    0x02, 0x01, 0, 0, 0, 0, 0, 0,
    // "l": NVLIST, namesize 2, datasize 40, nitems 0, "l\0"
    0x05, 2, 0, 40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x6c, 0x00,
    // child header: size 41
    0x6c, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 41, 0, 0, 0, 0, 0, 0, 0,
    // "x": NULL, namesize 2, datasize 0, nitems 0, "x\0"
    0x01, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x78, 0x00,
    // end marker: type 255, namesize 1, datasize 0, nitems 0, ""
    0xff, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
  ];
  assert.equal(expected.length, 151);
  const bytes = packNvList(list);
  assert.deepEqual([...bytes], expected);
  assert.equal(nvListSize(list), 151);
  assert.deepEqual(unpackNvList(bytes), list);

  // Big-endian: the same bytes with every integer swapped and 0x80 in both headers.
  const be = packNvList(list, { bigEndian: true });
  assert.equal(be.length, 151);
  assert.deepEqual([...be.subarray(0, 19)], [
    0x6c,
    0,
    0x80,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    132,
  ]);
  assert.deepEqual([...be.subarray(41, 44)], [0x03, 0, 2]); // "n" type, namesize
  assert.deepEqual([...be.subarray(62, 70)], [0, 0, 0, 0, 0, 0, 0x01, 0x02]);
  assert.equal(be[91 + 2], 0x80);
  assert.equal(be[91 + 18], 41);
  assert.deepEqual(unpackNvList(be), list);
});

test("packNvList() packs NVLIST_ARRAY elements, empty ones and 254 markers as libnv does", () => {
  const list = nvList([nvNvListArray("io", [nvList([nvBool("b", false)]), nvList()])]);
  const bytes = packNvList(list);
  // header 19, "io" pair 19+3, element 0 header 19 + "b" 22 + marker 20, element 1 header 19 +
  // marker 20.
  assert.equal(bytes.length, 19 + 22 + 19 + 22 + 20 + 19 + 20);
  const view = new DataView(bytes.buffer);
  assert.equal(bytes[19], NvType.NVLIST_ARRAY);
  assert.equal(view.getBigUint64(19 + 3, true), 0n); // datasize 0
  assert.equal(view.getBigUint64(19 + 11, true), 2n); // nitems
  assert.equal(bytes[19 + 22 + 19 + 22], 254);
  assert.equal(bytes[bytes.length - 20], 254);
  assert.equal(view.getBigUint64(19 + 22 + 19 + 22 + 20 + 11, true), 20n); // last element size
  assert.deepEqual(unpackNvList(bytes), list);
});

test("packNvList() gives an empty child datasize 19 and counts descriptors to the end", () => {
  const list = nvList([
    nvDescriptor("d", 0),
    nvNvList("e", nvList()),
    nvDescriptorArray("f", [1, 2]),
  ]);
  const bytes = packNvList(list);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getBigUint64(3, true), 3n); // top: 3 descriptors
  const e = 19 + 19 + 2 + 8;
  assert.equal(view.getBigUint64(e + 3, true), 19n); // nvlist_size() of an empty list
  assert.equal(view.getBigUint64(e + 19 + 2 + 3, true), 2n); // child header: 2 follow
  assert.throws(() => unpackNvList(bytes), /descriptors/);
  assert.deepEqual(unpackNvList(bytes, { descriptors: 3 }), list);
});

test("packNvList() refuses lists libnv could not build", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["duplicate", () => packNvList(nvList([nvNull("a"), nvNull("a")])), /used twice/],
    [
      "duplicate ignoring case",
      () => packNvList(nvList([nvNull("a"), nvNull("A")], NvFlag.IGNORE_CASE)),
      /used twice/,
    ],
    ["NUL in name", () => packNvList(nvList([nvNull("a\0b")])), /NUL/],
    ["NUL in string", () => packNvList(nvList([nvString("s", "x\0")])), /NUL/],
    ["long name", () => packNvList(nvList([nvNull("x".repeat(2048))])), /2047/],
    ["empty binary", () => packNvList(nvList([nvBinary("b", new Uint8Array())])), /no items/],
    ["empty array", () => packNvList(nvList([nvBoolArray("b", [])])), /no items/],
    ["empty nvlist array", () => packNvList(nvList([nvNvListArray("b", [])])), /no items/],
    ["flags", () => packNvList(nvList([], 0x80)), /flags/],
    ["descriptor", () => packNvList(nvList([nvDescriptor("d", -1)])), /descriptor index/],
    [
      "number",
      () => packNvList(nvList([{ name: "n", type: NvType.NUMBER, value: 1n << 64n }])),
      /2\^64/,
    ],
    [
      "wrong value",
      () => packNvList(nvList([{ name: "n", type: 3, value: 1 } as never])),
      /bigint/,
    ],
    [
      "unknown type",
      () => packNvList(nvList([{ name: "n", type: 13, value: 1 } as never])),
      /type 13/,
    ],
  ];
  for (const [what, fn, re] of cases) assert.throws(fn, re, what);
  // NO_UNIQUE allows duplicates, as libnv does.
  const dup = nvList([nvNumber("a", 1), nvNumber("a", 2)], NvFlag.NO_UNIQUE);
  assert.throws(() => unpackNvList(packNvList(dup)), /flags/); // top flags must be 0...
  assert.deepEqual(unpackNvList(packNvList(dup), { flags: NvFlag.NO_UNIQUE }), dup); // ...as asked
});
