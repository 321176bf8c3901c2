/**
 * A tiny controller and host for testing transports, not the real `@nvmf/controller` and
 * `@nvmf/host`: the controller keeps a byte array as its "disk" and serves READ and WRITE by
 * byte offset (CDW10) and length (the SGL), FLUSH as a no-op, and anything else with
 * INVALID_COMMAND_OPCODE. Every transport's test suite drives its queue pairs with these, so
 * the contract is exercised the same way over loopback and TCP.
 *
 * @module
 */

import {
  cqeCid,
  encodeCqe,
  encodeSqe,
  GenericStatus,
  NvmOpcode,
  sqeCdw,
  sqeCid,
  sqeOpcode,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";
import { type Capsule, commandCapsule, responseCapsule } from "./capsule.ts";
import type { QueuePair, SendOutcome } from "./queue_pair.ts";

/** How {@linkcode serveDisk} moves data. */
export interface ServeOptions {
  /** Split each READ's data into this many `sendControllerData` calls (default 1). */
  pieces?: number;
  /** Split each WRITE's data into this many `receiveControllerData` calls (default 1). */
  chunks?: number;
  /** Issue the WRITE chunks concurrently rather than one after another. */
  concurrent?: boolean;
}

/**
 * Serves commands received on a controller queue pair until it ends.
 *
 * @param qp A controller queue pair, already `setConnected`.
 * @param disk The bytes READ and WRITE address.
 * @param options How to split transfers.
 * @returns How many commands were served.
 * @example Usage
 * ```ts
 * import { Association, getTransport } from "@nvmf/transport";
 * import { runCommand, serveDisk } from "@nvmf/transport/testing";
 * import "@nvmf/transport-loopback";
 * import { NvmOpcode } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const t = getTransport("loopback");
 * const l = await t.listen(new Association(t, true), { traddr: "testing-doc" });
 * const host = await t.connect(new Association(t, false), { address: l.address, admin: true, qid: 0, qsize: 8 });
 * const ctrl = await l.accept();
 * ctrl.setConnected({ qid: 0, qsize: 8, sqFlowControl: true });
 * const served = serveDisk(ctrl, new Uint8Array(4096).fill(5));
 * const into = new Uint8Array(512);
 * await runCommand(host, NvmOpcode.READ, 1, 0, into);
 * assert.equal(into[0], 5);
 * await host.close();
 * assert.equal(await served, 1);
 * await l.close();
 * ```
 */
export async function serveDisk(
  qp: QueuePair,
  disk: Uint8Array,
  options: ServeOptions = {},
): Promise<number> {
  let served = 0;
  for (;;) {
    let capsule: Capsule;
    try {
      capsule = await qp.receive();
    } catch {
      return served;
    }
    if (capsule.kind !== "command") continue;
    const cmd = capsule;
    const cid = sqeCid(cmd.sqe);
    const offset = sqeCdw(cmd.sqe, 10);
    const sc = qp.validateCommandCapsule(cmd);
    let status = statusOf(StatusCodeType.GENERIC, sc);
    const length = qp.capsuleDataLength(cmd);
    try {
      if (sc === GenericStatus.SUCCESS) {
        const opcode = sqeOpcode(cmd.sqe);
        if (offset + length > disk.length) {
          status = statusOf(StatusCodeType.GENERIC, GenericStatus.LBA_OUT_OF_RANGE);
        } else if (opcode === NvmOpcode.WRITE) {
          const step = Math.max(1, Math.ceil(length / (options.chunks ?? 1)));
          const parts: Promise<void>[] = [];
          for (let at = 0; at < length; at += step) {
            const n = Math.min(step, length - at);
            const p = qp.receiveControllerData(
              cmd,
              at,
              disk.subarray(offset + at, offset + at + n),
            );
            if (options.concurrent) parts.push(p);
            else await p;
          }
          await Promise.all(parts);
        } else if (opcode === NvmOpcode.READ) {
          const step = Math.max(1, Math.ceil(length / (options.pieces ?? 1)));
          let outcome: SendOutcome = "sent";
          for (let at = 0; at < length; at += step) {
            const n = Math.min(step, length - at);
            outcome = await qp.sendControllerData(
              cmd,
              at,
              disk.subarray(offset + at, offset + at + n),
              at + n === length,
            );
          }
          if (outcome === "success-sent") {
            served++;
            continue;
          }
        } else if (opcode !== NvmOpcode.FLUSH) {
          status = statusOf(StatusCodeType.GENERIC, GenericStatus.INVALID_COMMAND_OPCODE);
        }
      }
    } catch (e) {
      const field = (e as { status?: { sct: number; sc: number } }).status;
      if (field === undefined) return served;
      status = statusOf(field.sct, field.sc);
    }
    try {
      await qp.transmit(responseCapsule(encodeCqe({ cid, sqid: qp.qid ?? 0, status })));
    } catch {
      return served;
    }
    served++;
  }
}

/**
 * Sends one command from a host queue pair and waits for its response.
 *
 * @param qp A host queue pair with nothing else in flight.
 * @param opcode READ, WRITE, FLUSH or anything else.
 * @param cid Command identifier.
 * @param offset Byte offset (CDW10).
 * @param data Data to write, or the buffer to read into.
 * @returns The 16-byte CQE.
 * @example Usage
 * ```ts ignore
 * const cqe = await runCommand(host, NvmOpcode.WRITE, 1, 0, new Uint8Array(512));
 * ```
 */
export async function runCommand(
  qp: QueuePair,
  opcode: number,
  cid: number,
  offset = 0,
  data?: Uint8Array,
): Promise<Uint8Array> {
  const direction = data === undefined
    ? undefined
    : opcode === NvmOpcode.WRITE
    ? "host-to-controller" as const
    : "controller-to-host" as const;
  await qp.transmit(commandCapsule(encodeSqe({ opcode, cid, cdw10: offset }), data, direction));
  const rsp = await qp.receive();
  if (rsp.kind !== "response" || cqeCid(rsp.cqe) !== cid) {
    throw new Error(`Expected the response to command ${cid}`);
  }
  return rsp.cqe;
}
