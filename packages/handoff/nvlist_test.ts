import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import {
  NvListError,
  nvListFromJson,
  nvListSize,
  nvListToJson,
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

test("the @nvmf/handoff/nvlist entry re-exports every concept module's exports", async () => {
  const entry = await import("./nvlist.ts");
  const parts = await Promise.all([
    import("./nvlist_types.ts"),
    import("./nvlist_errors.ts"),
    import("./nvlist_build.ts"),
    import("./nvlist_get.ts"),
    import("./nvlist_pack.ts"),
    import("./nvlist_unpack.ts"),
    import("./nvlist_json.ts"),
  ]);
  const names = parts.flatMap((m) => Object.keys(m)).sort();
  assert.deepEqual(Object.keys(entry).sort(), names);
  for (const m of parts) {
    for (const [name, value] of Object.entries(m)) {
      assert.equal((entry as Record<string, unknown>)[name], value, name);
    }
  }
});
