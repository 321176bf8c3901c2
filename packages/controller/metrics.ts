/**
 * I/O metrics of a namespace, counted in the controller's I/O path: commands and bytes read
 * and written, completions with an error by status, and a latency histogram. Counting costs a
 * few number increments per command and allocates nothing (the status map gains a key only
 * the first time a status is seen). A subsystem keeps one {@linkcode NamespaceMetrics} per
 * namespace (`subsystem.metrics`); `@nvmf/cli` exposes them in Prometheus' text format.
 *
 * @module
 */

/**
 * Upper bounds of the latency histogram buckets, seconds (the last bucket, +Inf, is implied).
 */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  1,
]);

/** What an I/O command was, for {@linkcode NamespaceMetrics.record}. */
export const IoKind = {
  /** Read, Compare, Verify. */
  READ: 0,
  /** Write, Write Zeroes. */
  WRITE: 1,
  /** Anything else (Flush, Dataset Management, an unknown opcode). */
  OTHER: 2,
} as const;

/**
 * The I/O metrics of one namespace.
 *
 * @example Usage
 * ```ts
 * import { IoKind, NamespaceMetrics } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const m = new NamespaceMetrics();
 * m.record(IoKind.READ, 0, 4096, 0.0003);
 * m.record(IoKind.WRITE, 0x0b << 1, 0, 0.00001);
 * assert.equal(m.readCommands, 1);
 * assert.equal(m.bytesRead, 4096);
 * assert.equal(m.errors.get(0x0b << 1), 1);
 * assert.equal(m.latencyCount, 2);
 * ```
 */
export class NamespaceMetrics {
  /** Read commands completed successfully. */
  readCommands = 0;
  /** Write commands completed successfully. */
  writeCommands = 0;
  /** Other commands completed successfully. */
  otherCommands = 0;
  /** Bytes read by hosts. */
  bytesRead = 0;
  /** Bytes written by hosts. */
  bytesWritten = 0;
  /** Completions with an error, by CQE status field (bits 15:1: DNR, MORE, SCT, SC; no phase). */
  readonly errors: Map<number, number> = new Map();
  /** Commands per latency bucket ({@linkcode LATENCY_BUCKETS}, then +Inf); not cumulative. */
  readonly latencyBuckets: Float64Array = new Float64Array(LATENCY_BUCKETS.length + 1);
  /** Sum of latencies, seconds. */
  latencySum = 0;
  /** Commands timed. */
  latencyCount = 0;

  /**
   * Counts one completed command.
   *
   * @param kind {@linkcode IoKind}.
   * @param status The CQE status field (0 for success).
   * @param bytes Data moved on success.
   * @param seconds Time from arrival to completion.
   */
  record(kind: number, status: number, bytes: number, seconds: number): void {
    if (status !== 0) {
      this.errors.set(status, (this.errors.get(status) ?? 0) + 1);
    } else if (kind === IoKind.READ) {
      this.readCommands++;
      this.bytesRead += bytes;
    } else if (kind === IoKind.WRITE) {
      this.writeCommands++;
      this.bytesWritten += bytes;
    } else {
      this.otherCommands++;
    }
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    this.latencyBuckets[i]++;
    this.latencySum += seconds;
    this.latencyCount++;
  }
}
