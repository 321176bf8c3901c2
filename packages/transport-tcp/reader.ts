/**
 * The receive side of one NVMe/TCP connection: a reusable buffer PDUs are parsed from in place,
 * and payload reads that go straight into the destination buffer once what is already buffered
 * has been copied.
 *
 * @module
 */

import type { ByteStream } from "./stream.ts";

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

  /**
   * Makes a reader.
   *
   * @param stream The connection.
   * @param size Buffer size; must hold the largest PDU header with digest and padding.
   */
  constructor(stream: ByteStream, size: number) {
    this.#stream = stream;
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
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
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    while (this.end - this.start < n) {
      const got = await this.#stream.read(this.buf.subarray(this.end));
      if (got === 0) {
        if (this.end === this.start) return false;
        throw new TruncatedStreamError(
          `Connection closed in the middle of a PDU: ${this.end - this.start} of ${n} bytes`,
        );
      }
      this.end += got;
    }
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
