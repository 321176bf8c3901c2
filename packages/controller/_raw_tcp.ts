/**
 * Private test helper: a raw NVMe/TCP peer over `node:net` that sends exactly the PDUs a test
 * gives it — an idle socket, an ICReq and nothing more, a write that never sends its data — to
 * play the stranger the target must bound. Not a host.
 *
 * @example Usage
 * ```ts ignore
 * const raw = await RawTcp.connect(port);
 * await raw.icReq();
 * raw.close();
 * ```
 *
 * @module
 */

import * as net from "node:net";
import {
  CNTLID_DYNAMIC,
  encodeConnect,
  encodeConnectData,
  encodePdu,
  encodeSgl,
  inCapsuleSgl,
  PduType,
} from "@nvmf/proto";

const PLAIN = { hdgst: false, ddgst: false, pda: 0 };

/** A raw TCP connection that reads whole PDUs. */
export class RawTcp {
  /** The socket. */
  readonly socket: net.Socket;
  #buffered = new Uint8Array(0);
  #ended = false;
  #wake: (() => void) | undefined;
  /** Settles when the peer closed the connection (or it failed). */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      const next = new Uint8Array(this.#buffered.length + chunk.length);
      next.set(this.#buffered);
      next.set(chunk, this.#buffered.length);
      this.#buffered = next;
      this.#wake?.();
    });
    this.closed = new Promise((resolve) => {
      const end = () => {
        this.#ended = true;
        this.#wake?.();
        resolve();
      };
      socket.on("close", end);
      socket.on("error", end);
    });
  }

  /**
   * Connects to 127.0.0.1.
   *
   * @param port The TCP port.
   * @returns The connection.
   */
  static connect(port: number): Promise<RawTcp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("error", reject);
      s.once("connect", () => {
        s.off("error", reject);
        resolve(new RawTcp(s));
      });
    });
  }

  /**
   * Writes bytes.
   *
   * @param bytes What to send.
   */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /**
   * The next whole PDU.
   *
   * @returns Its bytes, or undefined when the connection ended first.
   */
  async pdu(): Promise<Uint8Array | undefined> {
    for (;;) {
      if (this.#buffered.length >= 8) {
        const plen = new DataView(this.#buffered.buffer).getUint32(4, true);
        if (this.#buffered.length >= plen) {
          const pdu = this.#buffered.slice(0, plen);
          this.#buffered = this.#buffered.slice(plen);
          return pdu;
        }
      }
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }

  /** Sends an ICReq and reads the ICResp. */
  async icReq(): Promise<void> {
    this.write(
      encodePdu({
        type: PduType.IC_REQ,
        pfv: 0,
        hpda: 0,
        hdgst: false,
        ddgst: false,
        maxr2t: 0,
      }, PLAIN),
    );
    const resp = await this.pdu();
    if (resp?.[0] !== PduType.IC_RESP) throw new Error("Expected an ICResp");
  }

  /**
   * Sends a Connect with in-capsule data and reads its CapsuleResp.
   *
   * @param c Queue ID, controller ID, NQNs, host identifier.
   * @returns The 16-byte CQE.
   */
  async connect(c: {
    qid: number;
    cntlid?: number;
    subnqn: string;
    hostnqn: string;
    hostid: Uint8Array;
  }): Promise<Uint8Array> {
    const sqe = encodeConnect({ cid: 1, qid: c.qid, sqsize: 31, kato: 0 });
    sqe[1] |= 0x40; // PSDT: SGL
    encodeSgl(inCapsuleSgl(1024), sqe, 24);
    const data = encodeConnectData({
      hostid: c.hostid,
      cntlid: c.cntlid ?? CNTLID_DYNAMIC,
      subnqn: c.subnqn,
      hostnqn: c.hostnqn,
    });
    this.write(encodePdu({ type: PduType.CAPSULE_CMD, sqe, data }, PLAIN));
    const resp = await this.pdu();
    if (resp?.[0] !== PduType.CAPSULE_RESP) throw new Error("Expected a CapsuleResp");
    return resp.subarray(8, 24);
  }

  /**
   * Sends a command capsule without data.
   *
   * @param sqe The 64-byte SQE.
   */
  command(sqe: Uint8Array): void {
    this.write(encodePdu({ type: PduType.CAPSULE_CMD, sqe }, PLAIN));
  }

  /** Closes the socket. */
  close(): void {
    this.socket.destroy();
  }
}
