import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileBackend, RamBackend } from "./backend.ts";

const TiB = 2 ** 40;

test("RamBackend: a 1 TiB namespace takes memory only for the pages written", async () => {
  const ram = new RamBackend({ size: 1n << 40n, blockSize: 4096 });
  assert.equal(ram.size, 1n << 40n);
  assert.equal(ram.allocatedBytes, 0);
  const data = Uint8Array.from({ length: 8192 }, (_, i) => i % 251);
  await ram.write(TiB - 8192, data, {});
  await ram.write(0, data.subarray(0, 4096), { fua: true });
  const back = new Uint8Array(8192);
  await ram.read(TiB - 8192, back);
  assert.deepEqual(back, data);
  assert.equal(ram.allocatedBytes, 2 * 256 * 1024);
  await ram.close();
  assert.equal(ram.allocatedBytes, 0);
});

test("RamBackend: unwritten ranges read as zeroes, also across page boundaries", async () => {
  const ram = new RamBackend({ size: 4 << 20, pageSize: 4096 });
  await ram.write(4096 - 512, new Uint8Array(1024).fill(7), {});
  const back = new Uint8Array(12288).fill(0xee);
  await ram.read(0, back);
  assert.equal(back[3583], 0);
  assert.equal(back[3584], 7);
  assert.equal(back[4607], 7);
  assert.equal(back[4608], 0);
  assert.equal(back[12287], 0);
});

test("RamBackend: Write Zeroes and Deallocate free whole pages and clear partial ones", async () => {
  const ram = new RamBackend({ size: 1 << 20, pageSize: 4096 });
  await ram.write(0, new Uint8Array(16384).fill(1), {});
  assert.equal(ram.allocatedBytes, 16384);
  await ram.writeZeroes(2048, 8192); // half of page 0, all of page 1, half of page 2
  assert.equal(ram.allocatedBytes, 12288);
  const back = new Uint8Array(16384);
  await ram.read(0, back);
  assert.deepEqual([back[2047], back[2048], back[10239], back[10240]], [1, 0, 0, 1]);
  await ram.deallocate(12288, 4096);
  assert.equal(ram.allocatedBytes, 8192);
  await ram.read(12288, back.subarray(0, 4096));
  assert.equal(back[0], 0);
});

test("RamBackend: map() lends a page view within one page and nothing across pages", async () => {
  const ram = new RamBackend({ size: 1 << 20, pageSize: 65536 });
  const view = ram.map(512, 1024, true)!;
  view.fill(3);
  const back = new Uint8Array(1024);
  await ram.read(512, back);
  assert.equal(back[1023], 3);
  assert.equal(ram.map(65536 - 512, 1024, false), undefined);
  const zero = ram.map(131072, 4096, false)!;
  assert.deepEqual(zero, new Uint8Array(4096));
  assert.equal(ram.allocatedBytes, 65536);
});

test("RamBackend: prefault() allocates every page, keeps written data, and stops when aborted", async () => {
  const page = 256 * 1024;
  const ram = new RamBackend({ size: 3 * page + 4096, blockSize: 4096 }); // the last page partial
  await ram.write(page, new Uint8Array(4096).fill(9));
  assert.equal(await ram.prefault(), 3 * page); // four pages, one of them written already
  assert.equal(ram.allocatedBytes, 4 * page);
  const back = new Uint8Array(4096);
  await ram.read(page, back);
  assert.ok(back.every((b) => b === 9), "written data survives");
  await ram.read(3 * page, back);
  assert.ok(back.every((b) => b === 0), "prefaulted pages read as zeroes");
  assert.equal(await ram.prefault(), 0, "nothing left to allocate");
  await ram.deallocate(0, page);
  assert.equal(ram.allocatedBytes, 3 * page, "Deallocate still frees pages");

  const big = new RamBackend({ size: 64 << 20 });
  const stop = new AbortController();
  stop.abort();
  const got = await big.prefault(stop.signal);
  assert.ok(got > 0 && got < 64 << 20, `stopped after the first slice, not ${got}`);
  assert.equal(big.allocatedBytes, got);
});

test("RamBackend: ranges and options are checked", () => {
  const ram = new RamBackend({ size: 1 << 20 });
  assert.equal(ram.blockSize, 512);
  assert.throws(() => ram.read((1 << 20) - 256, new Uint8Array(512)), RangeError);
  assert.throws(() => ram.write(-512, new Uint8Array(512), {}), RangeError);
  assert.throws(() => ram.writeZeroes(0, (1 << 20) + 1), RangeError);
  assert.throws(() => new RamBackend({ size: 0 }), RangeError);
  assert.throws(() => new RamBackend({ size: 1 << 20, blockSize: 1000 }), RangeError);
  assert.throws(
    () => new RamBackend({ size: 1 << 20, blockSize: 4096, pageSize: 2048 }),
    RangeError,
  );
  assert.equal(new RamBackend({ size: 1 << 20, readOnly: true }).readOnly, true);
});

async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "nvmf-backend-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("FileBackend: a regular file reads and writes at offsets, with FUA and Flush", () =>
  withTemp(async (dir) => {
    const path = join(dir, "disk.img");
    await writeFile(path, new Uint8Array(1 << 20));
    const file = await FileBackend.open(path, { blockSize: 512 });
    assert.equal(file.size, 1n << 20n);
    assert.equal(file.blockSize, 512);
    await file.write(4096, new Uint8Array(8192).fill(0xab), { fua: true });
    await file.write(0, new Uint8Array(512).fill(1), {});
    await file.flush();
    const back = new Uint8Array(8192);
    await file.read(4096, back);
    assert.ok(back.every((b) => b === 0xab));
    await file.writeZeroes(4096, 4096);
    await file.deallocate(0, 512); // a hint: the file keeps its data
    await file.close();
    await file.close();
    const bytes = new Uint8Array(await readFile(path));
    assert.equal(bytes[0], 1);
    assert.equal(bytes[4096], 0);
    assert.equal(bytes[8191], 0);
    assert.equal(bytes[8192], 0xab);
  }));

test("FileBackend: a regular file defaults to 4096-byte blocks, as Linux's nvmet", () =>
  withTemp(async (dir) => {
    const path = join(dir, "disk.img");
    await writeFile(path, new Uint8Array(65536));
    const file = await FileBackend.open(path);
    assert.equal(file.blockSize, 4096);
    await file.close();
    const small = await FileBackend.open(path, { size: 8192 });
    assert.equal(small.size, 8192n);
    await small.close();
  }));

test("FileBackend: read-only, missing, too small and oversized files are refused", () =>
  withTemp(async (dir) => {
    const path = join(dir, "disk.img");
    await writeFile(path, new Uint8Array(4096));
    const ro = await FileBackend.open(path, { readOnly: true, blockSize: 512 });
    assert.equal(ro.readOnly, true);
    await assert.rejects(ro.write(0, new Uint8Array(512), {}), /read-only/);
    await ro.close();
    await assert.rejects(FileBackend.open(join(dir, "missing.img")));
    await assert.rejects(FileBackend.open(path, { size: 8192 }), RangeError);
    const tiny = join(dir, "tiny.img");
    await writeFile(tiny, new Uint8Array(100));
    await assert.rejects(FileBackend.open(tiny, { blockSize: 512 }), /less than one/);
    await assert.rejects(FileBackend.open(dir));
    await assert.rejects(
      FileBackend.open("/dev/null", { readOnly: true }),
      /not a file or block device/,
    );
  }));
