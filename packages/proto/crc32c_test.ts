import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32c, crc32cRange, setCrc32cImplementation } from "./crc32c.ts";
import { loadStream, splitPdus, streamFile } from "./_fixtures.ts";
import { PduFlags } from "./constants.ts";
import { CH_FLAGS, CH_HLEN, CH_PDO, CH_PLEN } from "./tcp_pdu.ts";

/** Bit-at-a-time reference (RFC 3720 B.4), independent of the table code. */
function reference(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test("crc32c() matches the RFC 3720 B.4 vectors", () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
});

test("crc32c() of nothing is 0 and passes a previous crc through", () => {
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(0), 0xe3069283), 0xe3069283);
});

test("crc32c() agrees with the bitwise reference at every length up to 300", () => {
  const data = pattern(300);
  for (let n = 0; n <= 300; n++) {
    const part = data.subarray(0, n);
    assert.equal(crc32c(part), reference(part), `length ${n}`);
  }
});

test("crc32c() agrees with the reference on unaligned views of large buffers", () => {
  const data = pattern(128 * 1024 + 7, 42);
  for (const start of [0, 1, 2, 3, 5]) {
    for (const end of [data.length, data.length - 1, data.length - 13]) {
      const part = data.subarray(start, end);
      assert.equal(crc32c(part), reference(part), `[${start}, ${end})`);
    }
  }
});

test("crc32c() continued over any split equals one shot", () => {
  const data = pattern(257, 7);
  const whole = crc32c(data);
  for (let cut = 0; cut <= data.length; cut++) {
    const head = crc32c(data.subarray(0, cut));
    assert.equal(crc32c(data.subarray(cut), head), whole, `cut at ${cut}`);
  }
  const big = pattern(200_000, 9);
  let crc = 0;
  for (let at = 0; at < big.length; at += 4093) crc = crc32c(big.subarray(at, at + 4093), crc);
  assert.equal(crc, crc32c(big));
});

test("crc32c() works on a buffer that a view of another buffer was digested before", () => {
  // The word view is cached per ArrayBuffer; alternate buffers and check each result.
  const a = pattern(4096, 1);
  const b = pattern(4096, 2);
  for (let i = 0; i < 3; i++) {
    assert.equal(crc32c(a), reference(a));
    assert.equal(crc32c(b), reference(b));
  }
});

test("crc32cRange() equals crc32c() of the subarray and rejects bad ranges", () => {
  const data = pattern(1000, 3);
  assert.equal(crc32cRange(data, 10, 990), crc32c(data.subarray(10, 990)));
  assert.equal(crc32cRange(data, 5, 5), 0);
  assert.equal(
    crc32cRange(data, 500, 1000, crc32cRange(data, 0, 500)),
    crc32c(data),
  );
  assert.throws(() => crc32cRange(data, 0, 1001), RangeError);
  assert.throws(() => crc32cRange(data, -1, 10), RangeError);
  assert.throws(() => crc32cRange(data, 20, 10), RangeError);
});

test("crc32c() reproduces every digest Linux sent in the digests capture", () => {
  let headers = 0;
  let datas = 0;
  for (const conn of [0, 1, 2]) {
    for (const dir of ["host-to-controller", "controller-to-host"] as const) {
      for (const pdu of splitPdus(loadStream(streamFile("digests", conn, dir)))) {
        const v = new DataView(pdu.buffer, pdu.byteOffset, pdu.byteLength);
        const flags = pdu[CH_FLAGS];
        const hlen = pdu[CH_HLEN];
        const plen = v.getUint32(CH_PLEN, true);
        if (flags & PduFlags.HDGSTF) {
          assert.equal(crc32c(pdu.subarray(0, hlen)), v.getUint32(hlen, true));
          headers++;
        }
        if (flags & PduFlags.DDGSTF) {
          const data = pdu.subarray(pdu[CH_PDO], plen - 4);
          assert.equal(crc32c(data), v.getUint32(plen - 4, true));
          datas++;
        }
      }
    }
  }
  // shared/fixtures/README.md: 108 header digests and 28 data digests, all valid.
  assert.equal(headers, 108);
  assert.equal(datas, 28);
});

test("setCrc32cImplementation routes inputs from minBytes up to a checked implementation", () => {
  // A bit-at-a-time CRC32C, independent of the tables, standing in for a native one.
  let calls = 0;
  const bitwise = (data: Uint8Array, crc: number) => {
    calls++;
    let c = ~crc;
    for (const b of data) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const data = new Uint8Array(1000).map((_, i) => (i * 37 + 11) & 0xff);
  const want = crc32c(data);
  try {
    assert.equal(setCrc32cImplementation((d) => d.length), false);
    assert.equal(
      setCrc32cImplementation(() => {
        throw new Error("no");
      }),
      false,
    );
    assert.equal(setCrc32cImplementation(bitwise, 300), true);
    calls = 0;
    assert.equal(crc32cRange(data, 1, 301), crc32c(data.subarray(1, 301)));
    assert.equal(crc32c(data), want);
    assert.equal(crc32c(data.subarray(0, 100)), crc32c(data.subarray(0, 100)));
    assert.equal(calls, 3); // the two runs of 300 bytes and more, and 1000; not the 100
    assert.equal(crc32c(data.subarray(500), crc32c(data.subarray(0, 500))), want);
    assert.throws(() => crc32cRange(data, 0, 1001), RangeError);
  } finally {
    assert.equal(setCrc32cImplementation(undefined), true);
  }
  calls = 0;
  assert.equal(crc32c(data), want);
  assert.equal(calls, 0);
});
