/**
 * The SGL rules every NVMe over Fabrics transport shares (NVMe-oF 1.1, 2.3; NVMe/TCP 1.0,
 * 3.3): a host describes in-capsule data with a Data Block descriptor of subtype Offset and
 * data the controller moves on request with a Transport Data Block descriptor; a controller
 * checks both against what actually arrived. Transports call these; host and controller code
 * do not need to.
 *
 * @module
 */

import {
  GenericStatus,
  Psdt,
  SGL_ADDRESS,
  SGL_IDENTIFIER,
  SGL_LENGTH,
  SGL_RESERVED,
  SglSubtype,
  SglType,
  SQE_DPTR,
  SQE_FLAGS,
  SqeFlagsBits,
} from "@nvmf/proto";
// Byte access rather than a DataView per call: a DataView is an allocation, and these run per
// command on both sides.
import { readU32 as u32 } from "@nvmf/proto/bytes";
import type { DataDirection } from "./capsule.ts";

/** SGL identifier byte of an in-capsule data descriptor (Data Block, subtype Offset). */
export const SGL_ID_IN_CAPSULE = (SglType.DATA_BLOCK << 4) | SglSubtype.OFFSET;
/** SGL identifier byte of a transport data descriptor (Transport Data Block). */
export const SGL_ID_TRANSPORT = (SglType.TRANSPORT_DATA_BLOCK << 4) | SglSubtype.TRANSPORT_SPECIFIC;

/**
 * Host side: writes the data pointer of a command about to be sent, as Linux's nvme-tcp does:
 * PSDT = SGL, then an in-capsule descriptor when host-to-controller data fits in
 * `maxInCapsuleData`, else a transport descriptor of the data's length (length 0 when there is
 * no data). Writes into the SQE in place; allocates nothing.
 *
 * @param sqe The 64-byte SQE.
 * @param length Data length in bytes (0 for none).
 * @param direction Data direction, when there is data.
 * @param maxInCapsuleData The queue pair's in-capsule limit.
 * @returns True when the data goes in the capsule.
 * @example Usage
 * ```ts
 * import { prepareCommandSgl, SGL_ID_IN_CAPSULE, SGL_ID_TRANSPORT } from "@nvmf/transport/implement";
 * import assert from "node:assert/strict";
 * const sqe = new Uint8Array(64);
 * assert.equal(prepareCommandSgl(sqe, 512, "host-to-controller", 8192), true);
 * assert.equal(sqe[24 + 15], SGL_ID_IN_CAPSULE);
 * assert.equal(prepareCommandSgl(sqe, 512, "controller-to-host", 8192), false);
 * assert.equal(sqe[24 + 15], SGL_ID_TRANSPORT);
 * ```
 */
export function prepareCommandSgl(
  sqe: Uint8Array,
  length: number,
  direction: DataDirection | undefined,
  maxInCapsuleData: number,
): boolean {
  sqe[SQE_FLAGS] = (sqe[SQE_FLAGS] & ~(SqeFlagsBits.PSDT_MASK << SqeFlagsBits.PSDT_SHIFT)) |
    (Psdt.SGL_MPTR_CONTIGUOUS << SqeFlagsBits.PSDT_SHIFT);
  const inCapsule = length > 0 && direction === "host-to-controller" &&
    length <= maxInCapsuleData;
  const d = SQE_DPTR;
  for (let i = d + SGL_ADDRESS; i < d + SGL_LENGTH; i++) sqe[i] = 0;
  sqe[d + SGL_LENGTH] = length;
  sqe[d + SGL_LENGTH + 1] = length >>> 8;
  sqe[d + SGL_LENGTH + 2] = length >>> 16;
  sqe[d + SGL_LENGTH + 3] = length >>> 24;
  for (let i = d + SGL_RESERVED; i < d + SGL_IDENTIFIER; i++) sqe[i] = 0;
  sqe[SQE_DPTR + SGL_IDENTIFIER] = inCapsule ? SGL_ID_IN_CAPSULE : SGL_ID_TRANSPORT;
  return inCapsule;
}

/**
 * Controller side: checks a received command's SGL against the in-capsule data that came
 * with it, as FreeBSD's `tcp_validate_command_capsule`, and returns a generic status code.
 * A command that moves no data (SGL length 0 and no in-capsule data) passes whatever its
 * descriptor says, as Linux's `nvmet_tcp_map_data` and SPDK ignore the SGL then: some hosts
 * send Property Get/Set and Keep Alive with an all-zero descriptor. A non-zero length with a
 * bad descriptor stays an error.
 *
 * @param sqe The received 64-byte SQE.
 * @param inCapsuleLength Bytes of in-capsule data that arrived with the command.
 * @returns `GenericStatus.SUCCESS` (0), or SGL_DESCRIPTOR_TYPE_INVALID, DATA_SGL_LENGTH_INVALID,
 *   INVALID_FIELD_IN_COMMAND (transport descriptor with in-capsule data) or SGL_OFFSET_INVALID.
 * @example Usage
 * ```ts
 * import { prepareCommandSgl, validateCommandSgl } from "@nvmf/transport/implement";
 * import { GenericStatus } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const sqe = new Uint8Array(64);
 * prepareCommandSgl(sqe, 512, "host-to-controller", 8192);
 * assert.equal(validateCommandSgl(sqe, 512), GenericStatus.SUCCESS);
 * assert.equal(validateCommandSgl(sqe, 256), GenericStatus.DATA_SGL_LENGTH_INVALID);
 * // No data, all-zero descriptor: accepted.
 * assert.equal(validateCommandSgl(new Uint8Array(64), 0), GenericStatus.SUCCESS);
 * ```
 */
export function validateCommandSgl(sqe: Uint8Array, inCapsuleLength: number): number {
  const id = sqe[SQE_DPTR + SGL_IDENTIFIER];
  const length = u32(sqe, SQE_DPTR + SGL_LENGTH);
  if (length === 0 && inCapsuleLength === 0) return GenericStatus.SUCCESS; // no data: no SGL
  if (id === SGL_ID_IN_CAPSULE) {
    if (length !== inCapsuleLength) return GenericStatus.DATA_SGL_LENGTH_INVALID;
  } else if (id === SGL_ID_TRANSPORT) {
    if (inCapsuleLength !== 0) return GenericStatus.INVALID_FIELD_IN_COMMAND;
  } else {
    return GenericStatus.SGL_DESCRIPTOR_TYPE_INVALID;
  }
  if (u32(sqe, SQE_DPTR + SGL_ADDRESS) !== 0 || u32(sqe, SQE_DPTR + SGL_ADDRESS + 4) !== 0) {
    return GenericStatus.SGL_OFFSET_INVALID;
  }
  return GenericStatus.SUCCESS;
}

/**
 * The data length a command's SGL describes (FreeBSD `nvmf_capsule_data_len`).
 *
 * @param sqe The 64-byte SQE.
 * @returns Bytes.
 * @example Usage
 * ```ts
 * import { commandSglLength, prepareCommandSgl } from "@nvmf/transport/implement";
 * import assert from "node:assert/strict";
 * const sqe = new Uint8Array(64);
 * prepareCommandSgl(sqe, 4096, "controller-to-host", 8192);
 * assert.equal(commandSglLength(sqe), 4096);
 * ```
 */
export function commandSglLength(sqe: Uint8Array): number {
  return u32(sqe, SQE_DPTR + SGL_LENGTH);
}

/**
 * Whether a command's SGL says its data is in the capsule.
 *
 * @param sqe The 64-byte SQE.
 * @returns True for an in-capsule data descriptor.
 * @example Usage
 * ```ts
 * import { isInCapsuleCommand, prepareCommandSgl } from "@nvmf/transport/implement";
 * import assert from "node:assert/strict";
 * const sqe = new Uint8Array(64);
 * prepareCommandSgl(sqe, 16, "host-to-controller", 8192);
 * assert.equal(isInCapsuleCommand(sqe), true);
 * ```
 */
export function isInCapsuleCommand(sqe: Uint8Array): boolean {
  return sqe[SQE_DPTR + SGL_IDENTIFIER] === SGL_ID_IN_CAPSULE;
}
