/**
 * The live progress line of `nvmf perf` on a terminal, as fio's status line: the IOPS and
 * bandwidth of the last second, and the time elapsed (of the total when the run is timed),
 * rewritten in place with `\r` about once a second. Runs shorter than a second print nothing;
 * {@linkcode PerfProgressLine.end} clears the line so the report starts on a clean one.
 *
 * @example Usage
 * ```ts
 * import { PerfProgressLine } from "./perf_progress.ts";
 * import assert from "node:assert/strict";
 * let err = "";
 * const line = new PerfProgressLine((t) => err += t, 10);
 * line.update({ readIos: 1000, writeIos: 0, bytes: 4096000, elapsedSec: 1 });
 * line.end();
 * assert.match(err, /^\rperf: \[r=1000 w=0 IOPS\] \[r=3\.91 MiB\/s w=0 B\/s\] \[1s\/10s\]/);
 * ```
 *
 * @module
 */

import type { PerfProgress } from "./perf.ts";

function rate(n: number): string {
  if (n >= 10_000_000) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 100_000) return `${(n / 1e3).toFixed(0)}k`;
  return `${Math.round(n)}`;
}

function bytesPerSec(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(n) : n.toFixed(2)} ${units[i]}/s`;
}

/** Formats and rewrites the progress line; give its `update` to `runPerf`'s `progress`. */
export class PerfProgressLine {
  readonly #write: (text: string) => void;
  readonly #totalSec: number | undefined;
  #last = { readIos: 0, writeIos: 0, bytes: 0, elapsedSec: 0 };
  #width = 0;

  /**
   * @param write Where the line goes (the terminal's stderr).
   * @param totalSec The run's length (ramp + runtime), when it is timed.
   */
  constructor(write: (text: string) => void, totalSec?: number) {
    this.#write = write;
    this.#totalSec = totalSec;
  }

  /**
   * Rewrites the line with the rates since the last update.
   *
   * @param p What `runPerf` reports.
   */
  update(p: PerfProgress): void {
    const dt = p.elapsedSec - this.#last.elapsedSec;
    if (!(dt > 0)) return;
    const r = (p.readIos - this.#last.readIos) / dt;
    const w = (p.writeIos - this.#last.writeIos) / dt;
    const total = p.bytes - this.#last.bytes;
    // Split the bandwidth by the I/Os of each direction in this interval (one block size).
    const ios = r + w;
    const rb = ios > 0 ? (total / dt) * (r / ios) : 0;
    const wb = ios > 0 ? (total / dt) * (w / ios) : 0;
    const elapsed = `${p.elapsedSec.toFixed(0)}s`;
    const text = `perf: [r=${rate(r)} w=${rate(w)} IOPS] [r=${bytesPerSec(rb)} w=${
      bytesPerSec(wb)
    }] [${this.#totalSec === undefined ? elapsed : `${elapsed}/${Math.ceil(this.#totalSec)}s`}]`;
    // Pad over the previous line's tail when this one is shorter.
    this.#write(`\r${text.padEnd(this.#width)}`);
    this.#width = text.length;
    this.#last = { ...p };
  }

  /** Clears the line, when one was printed. */
  end(): void {
    if (this.#width === 0) return;
    this.#write(`\r${" ".repeat(this.#width)}\r`);
    this.#width = 0;
  }
}
