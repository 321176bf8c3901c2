/**
 * The raw ceiling of the runtime, measured on 127.0.0.1 in this process, both ends on the one
 * event loop as host and controller are in the end-to-end cases:
 *
 * - **pump**: one TCP connection carrying 128 KiB writes back to back, read on the other end
 *   into a 128 KiB buffer; GB/s.
 * - **request/response**: 72-byte requests (a CapsuleCmd PDU) answered by 4,144-byte replies
 *   (a 4 KiB read's C2HData header, data and CapsuleResp) at queue depth 1 and 32, replies and
 *   requests coalesced per turn as the transport does; ops/s and p50/p99 latency.
 *
 * Each runs twice: over `dial`/`listen` from `@nvmf/transport-tcp/stream` (the `ByteStream` adapter
 * the NVMe/TCP transport uses) and, on Deno, over plain `Deno.connect`/`Deno.listen`.
 *
 * Run alone: `deno run -A bench/raw.ts`.
 *
 * @module
 */

import { type ByteStream, dial, listen } from "@nvmf/transport-tcp/stream";
import { Recorder, type Timing } from "./_workload.ts";

/** Which socket layer to use. */
export type Adapter = "stream" | "deno";

/** A connection as the raw benches use it. */
export interface RawConn {
  read(into: Uint8Array): Promise<number>;
  /** Writes `data`; settles once the system took it all. */
  write(data: Uint8Array): Promise<void>;
  close(): void;
}

/** Request and reply sizes of the request/response loop. */
export const RAW_REQUEST = 72;
/** C2HData header (24) + 4096 data + CapsuleResp (24). */
export const RAW_REPLY: number = 24 + 4096 + 24;
/** Write size of the pump. */
export const RAW_PUMP_CHUNK = 128 * 1024;

// deno-lint-ignore no-explicit-any
const deno: any = (globalThis as any).Deno;

/** True when the plain `Deno.connect` variant can run. */
export const denoAvailable: boolean = typeof deno?.connect === "function";

/** Our `ByteStream` (`@nvmf/transport-tcp/stream`) as a {@linkcode RawConn}. */
export function fromStream(s: ByteStream): RawConn {
  return {
    read: (into) => s.read(into),
    write: (data) => s.writev([data]),
    close: () => s.close(),
  };
}

/** A `Deno.Conn` as a {@linkcode RawConn} (no-delay on). */
// deno-lint-ignore no-explicit-any
export function fromDeno(conn: any): RawConn {
  conn.setNoDelay(true);
  return {
    read: async (into) => (await conn.read(into)) ?? 0,
    write: async (data) => {
      let at = 0;
      while (at < data.length) at += await conn.write(data.subarray(at));
    },
    close: () => {
      try {
        conn.close();
      } catch {
        // closed already
      }
    },
  };
}

/** A connected pair on 127.0.0.1: `a` dialled, `b` accepted. */
async function pair(adapter: Adapter): Promise<{ a: RawConn; b: RawConn }> {
  if (adapter === "stream") {
    const l = await listen("127.0.0.1", 0);
    const [b, a] = await Promise.all([l.accept(), dial("127.0.0.1", l.local.port)]);
    l.close();
    return { a: fromStream(a), b: fromStream(b) };
  }
  if (!denoAvailable) throw new Error("Cannot use the deno adapter: not running on Deno");
  const l = deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
  const [b, a] = await Promise.all([
    l.accept(),
    deno.connect({ hostname: "127.0.0.1", port: l.addr.port, transport: "tcp" }),
  ]);
  l.close();
  return { a: fromDeno(a), b: fromDeno(b) };
}

/** What the pump measured. */
export interface PumpResult {
  /** Bytes received in the window. */
  bytes: number;
  /** Window length. */
  seconds: number;
  /** GB/s (10^9 bytes). */
  gbPerSec: number;
}

/**
 * One connection, 128 KiB writes back to back, counted at the receiver.
 *
 * @param adapter `stream` (our ByteStream) or `deno` (plain Deno.Conn).
 * @param timing Warm-up and measured seconds.
 * @returns Throughput.
 * @example Usage
 * ```ts ignore
 * const { gbPerSec } = await rawPump("stream", { warmup: 0.5, seconds: 2 });
 * ```
 */
export async function rawPump(adapter: Adapter, timing: Timing): Promise<PumpResult> {
  const { a, b } = await pair(adapter);
  const writer = pumpWrite(a);
  const result = await pumpRead(b, timing);
  await writer;
  a.close();
  return result;
}

/**
 * The sending end of the pump: 128 KiB writes back to back until the connection fails or closes.
 *
 * @param a The connection.
 * @returns Settles when writing stopped.
 */
export async function pumpWrite(a: RawConn): Promise<void> {
  const chunk = new Uint8Array(RAW_PUMP_CHUNK).fill(0x5a);
  try {
    for (;;) await a.write(chunk);
  } catch {
    // the reader closed
  }
}

/**
 * The receiving end of the pump: reads into a 128 KiB buffer for the timed window, then closes
 * `b` (which stops the writer).
 *
 * @param b The connection.
 * @param timing Warm-up and measured seconds.
 * @returns Throughput.
 */
export async function pumpRead(b: RawConn, timing: Timing): Promise<PumpResult> {
  const into = new Uint8Array(RAW_PUMP_CHUNK);
  const rec = new Recorder(timing, 1);
  for (;;) {
    const n = await b.read(into).catch(() => 0);
    if (n === 0) break;
    if (!rec.complete(performance.now(), -1, n)) break;
  }
  b.close();
  const m = rec.result();
  return { bytes: m.bytes, seconds: m.seconds, gbPerSec: m.gbPerSec };
}

/** What the request/response loop measured. */
export interface RequestResponseResult {
  /** Replies received in the window. */
  ops: number;
  /** Window length. */
  seconds: number;
  /** Replies per second. */
  opsPerSec: number;
  /** Median request-to-reply latency, microseconds. */
  p50Us: number;
  /** 99th percentile latency, microseconds. */
  p99Us: number;
}

/**
 * Writes `count` fixed-size messages from `template`, coalescing what is asked for while a
 * write is in progress into the next write, as the transport's batching does.
 */
class Coalescer {
  readonly #conn: RawConn;
  readonly #size: number;
  readonly #buf: Uint8Array;
  #pending = 0;
  #writing = false;
  failed = false;

  constructor(conn: RawConn, template: Uint8Array, most: number) {
    this.#conn = conn;
    this.#size = template.length;
    this.#buf = new Uint8Array(template.length * most);
    for (let i = 0; i < most; i++) this.#buf.set(template, i * template.length);
  }

  send(count: number): void {
    this.#pending += count;
    if (!this.#writing) this.#run();
  }

  async #run(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending > 0) {
        const n = Math.min(this.#pending, this.#buf.length / this.#size);
        this.#pending -= n;
        await this.#conn.write(this.#buf.subarray(0, n * this.#size));
      }
    } catch {
      this.failed = true;
    }
    this.#writing = false;
  }
}

/**
 * Requests of 72 bytes, replies of 4,144 bytes, `qd` requests in flight.
 *
 * @param adapter `stream` or `deno`.
 * @param qd Requests in flight.
 * @param timing Warm-up and measured seconds.
 * @returns Rate and latency.
 * @example Usage
 * ```ts ignore
 * const { opsPerSec, p50Us } = await rawRequestResponse("deno", 32, { warmup: 0.5, seconds: 2 });
 * ```
 */
export async function rawRequestResponse(
  adapter: Adapter,
  qd: number,
  timing: Timing,
): Promise<RequestResponseResult> {
  const { a: client, b: server } = await pair(adapter);
  const serving = serveRequests(server, qd);
  const result = await driveRequests(client, qd, timing);
  await serving;
  server.close();
  return result;
}

/**
 * The server of the request/response loop: answers every whole 72-byte request read with a
 * 4,144-byte reply, coalescing replies as the transport does, until the connection closes.
 *
 * @param server The connection.
 * @param qd The most requests in flight.
 * @returns Settles when the connection closed.
 */
export async function serveRequests(server: RawConn, qd: number): Promise<void> {
  const reply = new Uint8Array(RAW_REPLY).fill(2);
  const replies = new Coalescer(server, reply, Math.max(qd, 1));
  const rx = new Uint8Array(64 * 1024);
  let partial = 0;
  for (;;) {
    const n = await server.read(rx).catch(() => 0);
    if (n === 0) return;
    partial += n;
    const whole = Math.floor(partial / RAW_REQUEST);
    partial -= whole * RAW_REQUEST;
    if (whole > 0) replies.send(whole);
  }
}

/**
 * The client of the request/response loop: `qd` requests in flight for the timed window, then
 * closes `client`.
 *
 * @param client The connection.
 * @param qd Requests in flight.
 * @param timing Warm-up and measured seconds.
 * @returns Rate and latency.
 */
export async function driveRequests(
  client: RawConn,
  qd: number,
  timing: Timing,
): Promise<RequestResponseResult> {
  const request = new Uint8Array(RAW_REQUEST).fill(1);
  // Client: FIFO of send times; replies come back in order.
  const requests = new Coalescer(client, request, Math.max(qd, 1));
  const sent = new Float64Array(qd);
  let head = 0;
  let tail = 0;
  const rec = new Recorder(timing);
  const now0 = performance.now();
  for (let i = 0; i < qd; i++) sent[tail++ % qd] = now0;
  requests.send(qd);
  const rx = new Uint8Array(256 * 1024);
  let partial = 0;
  let inflight = qd;
  let issuing = true;
  while (inflight > 0) {
    const n = await client.read(rx);
    if (n === 0 || requests.failed) break;
    partial += n;
    const whole = Math.floor(partial / RAW_REPLY);
    partial -= whole * RAW_REPLY;
    if (whole === 0) continue;
    const now = performance.now();
    for (let i = 0; i < whole; i++) {
      if (!rec.complete(now, now - sent[head++ % qd], RAW_REPLY)) issuing = false;
    }
    inflight -= whole;
    if (issuing) {
      for (let i = 0; i < whole; i++) sent[tail++ % qd] = now;
      inflight += whole;
      requests.send(whole);
    }
  }
  client.close();
  const m = rec.result();
  return { ops: m.ops, seconds: m.seconds, opsPerSec: m.opsPerSec, p50Us: m.p50Us, p99Us: m.p99Us };
}

if (import.meta.main) {
  const timing = { warmup: 0.5, seconds: 3 };
  for (const adapter of denoAvailable ? ["stream", "deno"] as const : ["stream"] as const) {
    const p = await rawPump(adapter, timing);
    console.log(`${adapter} pump 128k: ${p.gbPerSec.toFixed(2)} GB/s`);
    for (const qd of [1, 32]) {
      const r = await rawRequestResponse(adapter, qd, timing);
      console.log(
        `${adapter} rr qd${qd}: ${Math.round(r.opsPerSec)} ops/s p50 ${r.p50Us.toFixed(1)} us p99 ${
          r.p99Us.toFixed(1)
        } us`,
      );
    }
  }
}
