import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import {
  nvBinary,
  nvBool,
  nvBoolArray,
  nvDescriptor,
  nvDescriptorArray,
  NvFieldError,
  nvFind,
  NvFlag,
  nvGetBinary,
  nvGetBool,
  nvGetNumber,
  nvGetNvList,
  nvGetNvListArray,
  nvGetString,
  nvList,
  NvListError,
  nvListFromJson,
  nvListSize,
  nvListToJson,
  nvNull,
  nvNumber,
  nvNumberArray,
  nvNvList,
  nvNvListArray,
  nvString,
  nvStringArray,
  NvType,
  nvTypeName,
  packNvList,
  unpackNvList,
} from "./nvlist.ts";

const FIXTURES = new URL("../../../shared/fixtures/nvlist/", import.meta.url);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

function fixtureJson(name: string): { length: number; byte_order: string; nvlist: unknown } {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8"));
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

const vectors = readdirSync(FIXTURES).filter((f) => f.endsWith(".nvlist")).sort();

test("the fixture folder holds the 12 libnv vectors (6 lists, 2 byte orders)", () => {
  assert.equal(vectors.length, 12);
});

for (const file of vectors) {
  const json = file.replace(/\.nvlist$/, ".json");
  const bigEndian = file.includes(".be.");
  // descriptors.nvlist is what nvlist_send() writes; nvlist_recv() passes the 4 fds it got.
  const descriptors = file.startsWith("descriptors") ? 4 : 0;

  test(`unpackNvList() decodes ${file} to exactly ${json}`, () => {
    const bytes = fixture(file);
    const expected = fixtureJson(json);
    assert.equal(bytes.length, expected.length);
    assert.equal(expected.byte_order, bigEndian ? "big" : "little");
    assert.deepEqual(nvListToJson(unpackNvList(bytes, { descriptors })), expected.nvlist);
    assert.deepEqual(
      nvListToJson(unpackNvList(bytes, { descriptors, strict: false })),
      expected.nvlist,
    );
  });

  test(`packNvList() re-packs ${file} byte for byte`, () => {
    const bytes = fixture(file);
    const fromBytes = unpackNvList(bytes, { descriptors });
    assert.deepEqual(packNvList(fromBytes, { bigEndian }), bytes);
    const fromJson = nvListFromJson(fixtureJson(json).nvlist);
    assert.deepEqual(packNvList(fromJson, { bigEndian }), bytes);
    assert.equal(nvListSize(fromJson), bytes.length);
  });
}

test("packNvList() turns each vector into the other byte order's file", () => {
  for (const file of vectors.filter((f) => !f.includes(".be."))) {
    const descriptors = file.startsWith("descriptors") ? 4 : 0;
    const le = unpackNvList(fixture(file), { descriptors });
    assert.deepEqual(
      packNvList(le, { bigEndian: true }),
      fixture(file.replace(".nvlist", ".be.nvlist")),
    );
  }
});

test("unpackNvList() refuses descriptors.nvlist without descriptors, as nvlist_unpack() does", () => {
  const bytes = fixture("descriptors.nvlist");
  for (const strict of [true, false]) {
    assert.throws(() => unpackNvList(bytes, { strict }), (e: unknown) => {
      assert.ok(e instanceof NvListError);
      assert.equal(e.offset, 3); // the top header's descriptors field
      assert.match(e.reason, /claims 4 descriptors, only 0 available/);
      return true;
    });
    // Three fds are not enough either: fd_b has index 3.
    assert.throws(() => unpackNvList(bytes, { strict, descriptors: 3 }), NvListError);
  }
});

interface MalformedCase {
  base: string;
  kind: string;
  truncate_to?: number;
  append_hex?: string;
  patch_offset?: number;
  patch_hex?: string;
  libnv: "ACCEPT" | "REJECT";
  strict: "ACCEPT" | "REJECT";
  strict_reason?: string;
}

function rebuild(c: MalformedCase, bases: Map<string, Uint8Array>): Uint8Array {
  let base = bases.get(c.base);
  if (base === undefined) bases.set(c.base, base = fixture(c.base));
  let bytes = base.slice();
  if (c.truncate_to !== undefined) bytes = bytes.slice(0, c.truncate_to);
  if (c.append_hex !== undefined) {
    const extra = fromHex(c.append_hex);
    const grown = new Uint8Array(bytes.length + extra.length);
    grown.set(bytes);
    grown.set(extra, bytes.length);
    bytes = grown;
  }
  if (c.patch_offset !== undefined) bytes.set(fromHex(c.patch_hex ?? ""), c.patch_offset);
  return bytes;
}

test("unpackNvList() gives every malformed case libnv's verdict (non-strict) and the strict one", () => {
  const { cases } = JSON.parse(readFileSync(new URL("malformed.json", FIXTURES), "utf8")) as {
    cases: MalformedCase[];
  };
  assert.equal(cases.length, 2882);
  const bases = new Map<string, Uint8Array>();
  const failures: string[] = [];
  let rejected = 0;
  cases.forEach((c, id) => {
    const bytes = rebuild(c, bases);
    for (const strict of [false, true]) {
      let verdict = "ACCEPT";
      try {
        unpackNvList(bytes, { strict });
      } catch (e) {
        if (!(e instanceof NvListError)) {
          failures.push(`#${id} ${c.kind}: threw ${String(e)}`);
          return;
        }
        assert.ok(e.offset >= 0 && e.offset <= bytes.length, `#${id}: offset ${e.offset}`);
        verdict = "REJECT";
        rejected++;
      }
      const want = strict ? c.strict : c.libnv;
      if (verdict !== want) {
        failures.push(
          `#${id} ${c.kind} ${strict ? "strict" : "libnv"}: want ${want}, got ${verdict}`,
        );
      }
    }
  });
  assert.deepEqual(failures, []);
  assert.equal(rejected, 2427 * 2 + 288);
});

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

test("nvNumber() and nvNumberArray() take u64 values only", () => {
  assert.equal(nvNumber("n", 2n ** 64n - 1n).value, 2n ** 64n - 1n);
  assert.throws(() => nvNumber("n", -1), RangeError);
  assert.throws(() => nvNumber("n", 1.5), RangeError);
  assert.throws(() => nvNumber("n", 2n ** 64n), RangeError);
  assert.throws(() => nvNumberArray("n", [2 ** 53]), RangeError);
});

test("unpackNvList() names the field and offset of what is wrong", () => {
  const bytes = packNvList(nvList([nvBool("admin", true), nvNumber("qsize", 32)]));
  const reject = (patch: (b: Uint8Array) => Uint8Array, offset: number, re: RegExp) => {
    assert.throws(() => unpackNvList(patch(bytes.slice())), (e: unknown) => {
      assert.ok(e instanceof NvListError);
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

test("getters name the missing or mistyped field", () => {
  const list = nvList([
    nvBool("admin", true),
    nvNumber("qsize", 32),
    nvString("hostnqn", "nqn.x"),
    nvBinary("cmd", new Uint8Array(64)),
    nvNvList("params", nvList([nvNumber("sqhd", 1)])),
    nvNvListArray("io", [nvList()]),
  ]);
  assert.equal(nvGetBool(list, "admin"), true);
  assert.equal(nvGetNumber(list, "qsize"), 32n);
  assert.equal(nvGetString(list, "hostnqn"), "nqn.x");
  assert.equal(nvGetBinary(list, "cmd").length, 64);
  assert.equal(nvGetNumber(nvGetNvList(list, "params"), "sqhd"), 1n);
  assert.equal(nvGetNvListArray(list, "io").length, 1);
  assert.equal(nvFind(list, "ADMIN"), undefined);
  assert.throws(() => nvGetNumber(list, "sqtail", "params"), (e: unknown) => {
    assert.ok(e instanceof NvFieldError);
    assert.equal(e.field, "params.sqtail");
    assert.equal(e.message, 'Cannot use nvlist field "params.sqtail": missing NUMBER');
    return true;
  });
  assert.throws(() => nvGetNumber(list, "admin"), (e: unknown) => {
    assert.ok(e instanceof NvFieldError);
    assert.equal(e.reason, "want NUMBER, found BOOL");
    return true;
  });
});

test("nvListFromJson() refuses JSON of the wrong shape", () => {
  assert.throws(() => nvListFromJson(null), TypeError);
  assert.throws(() => nvListFromJson({ flags: 0, pairs: [{ name: "n", type: "NOPE" }] }), /NOPE/);
  assert.throws(
    () => nvListFromJson({ flags: 0, pairs: [{ name: "n", type: "NUMBER", value: "-1" }] }),
    /u64/,
  );
  assert.throws(
    () => nvListFromJson({ flags: 0, pairs: [{ name: "b", type: "BINARY", value: "abc" }] }),
    /hex/,
  );
  assert.equal(nvTypeName(NvType.DESCRIPTOR_ARRAY), "DESCRIPTOR_ARRAY");
});
