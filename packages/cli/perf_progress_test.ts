import { test } from "node:test";
import assert from "node:assert/strict";
import { RamBackend, Target } from "@nvmf/controller";
import { type CliIo, main } from "./nvmf.ts";
import { PerfProgressLine } from "./perf_progress.ts";

const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555556";

/** The keys of a JSON value, nested, sorted: its shape. */
function shape(v: unknown, at = ""): string[] {
  if (v === null || typeof v !== "object") return [`${at}:${v === null ? "null" : typeof v}`];
  return Object.keys(v).sort().flatMap((k) =>
    shape((v as Record<string, unknown>)[k], `${at}.${k}`)
  );
}

// `nvmf perf -o json` printed exactly these fields before the progress line existed.
const PERF_JSON_SHAPE = [
  ".bs:number",
  ".cpuUsPerIo:number",
  ".iodepth:number",
  ".latencySampleEvery:number",
  ".nsid:number",
  ".numQueues:number",
  ...["read", "write"].flatMap((d) => [
    `.${d}.bandwidthBytesPerSec:number`,
    `.${d}.bytes:number`,
    `.${d}.iops:number`,
    `.${d}.ios:number`,
    ...["max", "mean", "min", "p50", "p90", "p99", "p99_9"].map((k) =>
      `.${d}.latencyUs.${k}:number`
    ),
  ]),
  ".rampTimeSec:number",
  ".regionBytes:number",
  ".runtimeSec:number",
  ".rw:string",
].sort();

test("nvmf perf shows a live progress line only on a terminal, and -o json keeps its shape", async () => {
  const target = new Target();
  const nqn = "nqn.2026-01.test.cli:progress";
  target.addSubsystem({
    nqn,
    namespaces: [{ backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) }],
    allowAnyHost: true,
  });
  const port = await target.listen("loopback", { traddr: "perf-progress-test" });
  try {
    const args = [
      "perf",
      ...["-t", "loopback", "-a", "perf-progress-test", "-q", HOSTNQN, "-n", nqn],
      ...["--rw", "randread", "--iodepth", "4", "--runtime", "1.3", "--time-based", "-o", "json"],
    ];
    for (const tty of [true, false]) {
      let out = "";
      let err = "";
      const io: CliIo = { stdout: (t) => out += t, stderr: (t) => err += t, progress: tty };
      assert.equal(await main(args, io), 0, err);
      const result = JSON.parse(out);
      assert.deepEqual(shape(result), PERF_JSON_SHAPE);
      assert.ok(result.read.ios > 0);
      if (tty) {
        // One update after a second, then the line is blanked so what follows starts clean.
        assert.match(
          err,
          /^\rperf: \[r=\d+k? w=0 IOPS\] \[r=[\d.]+ [KMG]iB\/s w=0 B\/s\] \[1s\/2s\]\r +\r$/,
        );
      } else {
        assert.equal(err, "");
      }
    }
  } finally {
    await port.close();
    await target.close();
  }
});

test("the progress line pads over a longer previous line and prints nothing for short runs", () => {
  let err = "";
  const line = new PerfProgressLine((t) => err += t);
  line.end();
  assert.equal(err, "");
  line.update({ readIos: 200_000, writeIos: 200_000, bytes: 400_000 * 4096, elapsedSec: 1 });
  const first = err.length - 1;
  line.update({ readIos: 200_001, writeIos: 200_000, bytes: 400_001 * 4096, elapsedSec: 2 });
  const second = err.slice(first + 1);
  assert.equal(second.length - 1, first);
  assert.match(second, /^\rperf: \[r=1 w=0 IOPS\] \[r=4\.00 KiB\/s w=0 B\/s\] \[2s\] +$/);
  assert.match(err, /^\rperf: \[r=200k w=200k IOPS\] \[r=781\.25 MiB\/s w=781\.25 MiB\/s\] \[1s\]/);
});
