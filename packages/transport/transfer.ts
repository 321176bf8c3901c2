/**
 * The host's check of a command's data transfer against its completion: a controller that
 * reports success must have moved exactly the command's data — every byte of a read sent to
 * the host, every byte of a write fetched from it. A completion that says otherwise is not
 * handed to the caller as success: the transport turns it into a Data Transfer Error and says
 * why in {@linkcode ResponseCapsule.fault}.
 *
 * @module
 */

import {
  CQE_CID,
  CQE_SIZE,
  CQE_STATUS,
  CqeStatusBits,
  GenericStatus,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";
import type { CommandCapsule, ResponseCapsule } from "./capsule.ts";

/** Status bits that are not the phase tag, CRD, M or DNR: zero means success. */
const STATUS_CODE_MASK = (CqeStatusBits.SC_MASK << CqeStatusBits.SC_SHIFT) |
  (CqeStatusBits.SCT_MASK << CqeStatusBits.SCT_SHIFT);
const DATA_TRANSFER_ERROR = statusOf(StatusCodeType.GENERIC, GenericStatus.DATA_TRANSFER_ERROR);

/**
 * Host: the response to deliver for a command whose data moved `moved` bytes. A successful CQE
 * for a transfer that did not cover the command's buffer comes back as a copy with status
 * DATA_TRANSFER_ERROR and a `fault` naming the shortfall; anything else comes back as it is.
 *
 * @param command The host's command capsule (its data buffer and direction).
 * @param moved Bytes the controller sent (controller-to-host) or fetched (host-to-controller).
 * @param response The response as received.
 * @returns The response to deliver.
 * @example Usage
 * ```ts
 * import { checkTransfer } from "@nvmf/transport/implement";
 * import { commandCapsule } from "@nvmf/transport";
 * import { cqeStatus, decodeStatus, encodeCqe, GenericStatus } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const read = commandCapsule(new Uint8Array(64), new Uint8Array(4096), "controller-to-host");
 * const ok = { kind: "response" as const, cqe: encodeCqe({ cid: 0 }) };
 * assert.equal(checkTransfer(read, 4096, ok), ok);
 * const short = checkTransfer(read, 512, ok);
 * assert.equal(decodeStatus(cqeStatus(short.cqe)).sc, GenericStatus.DATA_TRANSFER_ERROR);
 * assert.match(short.fault!, /sending 512 of 4096 bytes/);
 * ```
 */
export function checkTransfer(
  command: CommandCapsule,
  moved: number,
  response: ResponseCapsule,
): ResponseCapsule {
  const length = command.data?.length ?? 0;
  if (moved === length || length === 0) return response;
  const cqe = response.cqe;
  const status = cqe[CQE_STATUS] | (cqe[CQE_STATUS + 1] << 8);
  if ((status & STATUS_CODE_MASK) !== 0) return response; // an error already: it stands
  const copy = cqe.slice(0, CQE_SIZE);
  new DataView(copy.buffer).setUint16(CQE_STATUS, DATA_TRANSFER_ERROR | (status & 1), true);
  const cid = cqe[CQE_CID] | (cqe[CQE_CID + 1] << 8);
  const verb = command.direction === "controller-to-host" ? "sending" : "fetching";
  return {
    kind: "response",
    cqe: copy,
    fault:
      `the controller reported command ${cid} successful after ${verb} ${moved} of ${length} bytes`,
  };
}
