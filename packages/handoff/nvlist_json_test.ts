import { test } from "node:test";
import assert from "node:assert/strict";
import { nvListFromJson } from "./nvlist_json.ts";
import { NvType, nvTypeName } from "./nvlist_types.ts";

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
