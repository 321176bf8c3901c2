import { test } from "node:test";
import assert from "node:assert/strict";
import {
  nvBool,
  nvBoolArray,
  nvList,
  nvNull,
  nvNumber,
  nvNumberArray,
  nvNvList,
  nvNvListArray,
  nvString,
  nvStringArray,
} from "./nvlist_build.ts";
import { NvListError } from "./nvlist_errors.ts";
import { packNvList } from "./nvlist_pack.ts";
import { NvFlag } from "./nvlist_types.ts";
import { unpackNvList } from "./nvlist_unpack.ts";

test("unpackNvList() names the field and offset of what is wrong", () => {
  const bytes = packNvList(nvList([nvBool("admin", true), nvNumber("qsize", 32)]));
  const reject = (patch: (b: Uint8Array) => Uint8Array, offset: number, re: RegExp) => {
    assert.throws(() => unpackNvList(patch(bytes.slice())), (e: unknown) => {
      assert.ok(e instanceof NvListError);
      assert.ok(e instanceof SyntaxError);
      assert.equal(e.offset, offset);
      assert.match(e.reason, re);
      assert.match(e.message, new RegExp(`^Cannot unpack nvlist at byte ${offset}: `));
      return true;
    });
  };
  reject((b) => b.subarray(0, 10), 0, /truncated nvlist header: 10 bytes left, need 19/);
  reject((b) => ((b[0] = 0x6d), b), 0, /magic 0x6d/);
  reject((b) => ((b[2] = 0x04), b), 2, /unknown nvlist header flags 0x04/);
  reject((b) => ((b[2] = 0x01), b), 2, /flags 0x01 differ/);
  reject((b) => ((b[11] = 1), b), 11, /size 1 does not match/);
  reject((b) => ((b[19] = 0), b), 19, /unknown pair type 0/);
  reject((b) => ((b[20] = 0), b), 20, /name size 0/);
  reject((b) => ((b[20] = 3), b), 38, /NUL-terminated/);
  reject((b) => ((b[22] = 2), b), 22, /BOOL pair with datasize 2/);
  reject((b) => ((b[44] = 2), b), 44, /BOOL value 2/);
  reject((b) => ((b[30] = 1), b), 30, /non-array pair with nitems 1/);
  reject((b) => ((b[48] = 0xff), b), 48, /truncated data/);
  reject((b) => ((b[45] = 2), b), 48, /BOOL pair with datasize 8/);
});

test("unpackNvList() bounds every count by the bytes left before allocating", () => {
  // An NVLIST_ARRAY claiming 2^61 + 1 items: 19 * nitems wraps, libnv refuses, and so do we
  // without creating anything.
  const bytes = packNvList(nvList([nvNvListArray("a", [nvList()])]));
  const view = new DataView(bytes.buffer);
  for (const nitems of [2n ** 61n + 1n, 2n ** 64n - 1n, 1000n]) {
    view.setBigUint64(19 + 11, nitems, true);
    assert.throws(() => unpackNvList(bytes, { strict: false }), /cannot fit/);
  }
  const numbers = packNvList(nvList([nvNumberArray("n", [1])]));
  new DataView(numbers.buffer).setBigUint64(19 + 11, 2n ** 61n + 1n, true); // 8 * n wraps to 8
  assert.throws(() => unpackNvList(numbers, { strict: false }), /NUMBER_ARRAY/);
  const strings = packNvList(nvList([nvStringArray("s", ["a", "b"])]));
  new DataView(strings.buffer).setBigUint64(19 + 11, 2n ** 64n - 1n, true);
  assert.throws(() => unpackNvList(strings, { strict: false }), /STRING_ARRAY/);
});

test("unpackNvList() in libnv mode follows libnv where strict mode refuses", () => {
  // A STRING_ARRAY whose last item lacks its NUL inside datasize: libnv's scan accepts it and
  // the copy runs on to the real NUL, here the byte just past datasize...
  const list = nvList([nvStringArray("s", ["ab"]), nvNull("z")]);
  const bytes = packNvList(list);
  new DataView(bytes.buffer).setBigUint64(19 + 3, 2n, true); // datasize 3 -> 2
  assert.throws(() => unpackNvList(bytes), /does not end with a NUL/);
  assert.deepEqual(unpackNvList(bytes, { strict: false }).pairs[0].value, ["ab"]);
  // ...and with nothing after it the real NUL is past the end: libnv reads out of bounds.
  const last = packNvList(nvList([nvStringArray("s", ["ab"])]));
  new DataView(last.buffer).setBigUint64(19 + 3, 2n, true);
  const cut = last.slice(0, last.length - 1);
  new DataView(cut.buffer).setBigUint64(11, BigInt(cut.length - 19), true);
  assert.throws(() => unpackNvList(cut, { strict: false }), /past the end of the buffer/);
  // BOOL_ARRAY items other than 0 and 1.
  const bools = packNvList(nvList([nvBoolArray("b", [true])]));
  bools[bools.length - 1] = 7;
  assert.deepEqual(unpackNvList(bools, { strict: false }).pairs[0].value, [true]);
  assert.throws(() => unpackNvList(bools), /neither 0 nor 1/);
  // Invalid UTF-8: libnv does not care; strict mode refuses.
  const text = packNvList(nvList([nvString("s", "\u00e9")]));
  text[text.length - 2] = 0x41; // 0xc3 0x41: a lead byte without its continuation
  assert.equal(unpackNvList(text, { strict: false }).pairs[0].value, "\ufffdA");
  assert.throws(() => unpackNvList(text), /UTF-8/);
});

test("unpackNvList() compares names case-insensitively in IGNORE_CASE lists", () => {
  const child = nvList([nvNull("a"), nvNull("B")], NvFlag.IGNORE_CASE);
  const bytes = packNvList(nvList([nvNvList("c", child)]));
  assert.deepEqual(unpackNvList(bytes).pairs[0].value, child);
  const i = bytes.indexOf(0x42); // "B" -> "A"
  bytes[i] = 0x41;
  for (const strict of [true, false]) {
    assert.throws(() => unpackNvList(bytes, { strict }), /duplicate name 'A'/);
  }
});
