/**
 * The receive side of one NVMe/TCP connection: a reusable buffer PDUs are parsed from in place,
 * and payload reads that go straight into the destination buffer once what is already buffered
 * has been copied.
 *
 * @module
 */

import type { ByteStream } from "./stream.ts";

/**
 * After a payload read straight into its destination, the next buffered read asks for at most
 * this many bytes: the PDU headers that come between two large payloads (a CapsuleResp and the
 * next C2HData header, or a CapsuleCmd and the next H2CData header, with digests), and not the
 * next payload, which would then be copied out of the buffer rather than read in place.
 */
const HEADERS_AFTER_BULK = 256;

/**
 * A reader starts with at most this much buffer and grows to its full size the first time a
 * read fills all the room it offered (the peer sends more than this between two reads): a
 * controller that receives only commands never needs more, and many connections cost less.
 */
const INITIAL_SIZE = 16 * 1024;

/** Thrown when the stream ends in the middle of a PDU. */
export class TruncatedStreamError extends Error {
  /**
   * Makes the error.
   *
   * @param message What was being read.
   */
  constructor(message: string) {
    super(message);
    this.name = "TruncatedStreamError";
  }
}

/**
 * A buffered reader over a {@linkcode ByteStream}. Bytes between `start` and `end` of `buf` are
 * received and not yet consumed; views into `buf` are valid until the next `fill`.
 */
export class PduReader {
  /** The receive buffer. */
  buf: Uint8Array;
  /** A view over {@linkcode PduReader.buf}. */
  view: DataView;
  /** First unconsumed byte. */
  start = 0;
  /** End of received bytes. */
  end = 0;
  readonly #stream: ByteStream;
  /** The last payload went straight to its destination: read only headers next. */
  #bulk = false;
  /** The size the buffer may grow to. */
  readonly #size: number;

  /**
   * Makes a reader.
   *
   * @param stream The connection.
   * @param size Buffer size; must hold the largest PDU header with digest and padding. The
   *   buffer starts smaller (16 KiB) and grows to this size when reads fill it.
   */
  constructor(stream: ByteStream, size: number) {
    this.#stream = stream;
    this.#size = size;
    this.buf = new Uint8Array(Math.min(size, INITIAL_SIZE));
    this.view = new DataView(this.buf.buffer);
  }

  /** Moves the unconsumed bytes to the start of a buffer of `size` bytes. */
  #rebase(size: number): void {
    if (size !== this.buf.length) {
      const buf = new Uint8Array(size);
      buf.set(this.buf.subarray(this.start, this.end));
      this.buf = buf;
      this.view = new DataView(buf.buffer);
    } else {
      this.buf.copyWithin(0, this.start, this.end);
    }
    this.end -= this.start;
    this.start = 0;
  }

  /** Bytes buffered and not consumed. */
  get available(): number {
    return this.end - this.start;
  }

  /**
   * Makes sure at least `n` bytes are buffered.
   *
   * @param n Bytes needed; at most the buffer size.
   * @returns False when the stream ended cleanly with nothing buffered.
   * @throws {TruncatedStreamError} When it ends with a partial PDU buffered.
   */
  async fill(n: number): Promise<boolean> {
    if (this.end - this.start >= n) return true;
    if (this.buf.length - this.start < n) {
      this.#rebase(Math.max(n, this.buf.length));
    }
    while (this.end - this.start < n) {
      let limit = this.buf.length;
      if (this.#bulk) {
        this.#bulk = false;
        limit = Math.min(limit, Math.max(this.start + n, this.end + HEADERS_AFTER_BULK));
      }
      const room = limit - this.end;
      const got = await this.#stream.read(this.buf.subarray(this.end, limit));
      if (got === 0) {
        if (this.end === this.start) return false;
        throw new TruncatedStreamError(
          `Connection closed in the middle of a PDU: ${this.end - this.start} of ${n} bytes`,
        );
      }
      this.end += got;
      if (got === room && limit === this.buf.length && this.buf.length < this.#size) {
        // The peer had more to send than there was room for: grow.
        this.#rebase(this.#size);
      }
    }
    return true;
  }

  /**
   * Consumes `dest.length` bytes into `dest` when that many are buffered, without waiting: the
   * receive path's synchronous case (a whole PDU usually arrives in one read).
   *
   * @param dest Where the bytes go.
   * @returns False, consuming nothing, when fewer bytes are buffered.
   */
  take(dest: Uint8Array): boolean {
    const n = dest.length;
    if (this.end - this.start < n) return false;
    dest.set(this.buf.subarray(this.start, this.start + n));
    this.start += n;
    return true;
  }

  /**
   * Consumes `dest.length` bytes into `dest`: what is buffered is copied, the rest is read from
   * the stream straight into `dest`.
   *
   * @param dest Where the bytes go.
   * @throws {TruncatedStreamError} When the stream ends first.
   */
  async readInto(dest: Uint8Array): Promise<void> {
    const buffered = Math.min(this.end - this.start, dest.length);
    if (buffered > 0) {
      dest.set(this.buf.subarray(this.start, this.start + buffered));
      this.start += buffered;
    }
    let at = buffered;
    const rest = dest.length - at;
    if (rest > 0 && rest <= this.buf.length >> 2) {
      // Small remainder: one buffered read may bring the next PDUs along with it.
      if (!(await this.fill(rest))) {
        throw new TruncatedStreamError(
          `Connection closed in the middle of PDU data: ${at} of ${dest.length} bytes`,
        );
      }
      dest.set(this.buf.subarray(this.start, this.start + rest), at);
      this.start += rest;
      return;
    }
    this.#bulk = true;
    while (at < dest.length) {
      const got = await this.#stream.read(dest.subarray(at));
      if (got === 0) {
        throw new TruncatedStreamError(
          `Connection closed in the middle of PDU data: ${at} of ${dest.length} bytes`,
        );
      }
      at += got;
    }
  }
}
