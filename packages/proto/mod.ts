/**
 * `@nvmf/proto`: the NVMe and NVMe over Fabrics wire formats as byte-exact codecs over
 * `DataView` (little-endian, as the specifications), with every constant and name.
 *
 * - {@link ./constants.ts}: opcodes, status codes, properties, log pages, features, discovery
 *   values, NVMe/TCP PDU numbers; {@linkcode nameOf} prints any of them by name.
 * - SQE and CQE codecs with hot-path accessors (`sqeCid`, `setCqeSqhd`, ...), SGL descriptors.
 * - Status decoding and printing (`formatStatus` gives `NAMESPACE_NOT_READY (sct 0, sc 0x82)`)
 *   and `NvmeStatusError`.
 * - Fabrics commands: Property Get/Set with CAP/VS/CC/CSTS field helpers, Connect and its data,
 *   Disconnect, Authentication Send/Receive.
 * - {@link ./auth.ts}: the in-band authentication messages (AUTH_Negotiate, DH-HMAC-CHAP
 *   Challenge, Reply, Success1/2, AUTH_Failure1/2).
 * - Identify Controller/Namespace, namespace descriptors and lists, the Discovery log page,
 *   Error, SMART/Health, Firmware Slot, Changed Namespace and Commands Supported logs.
 * - Reservations: command fields and data, the Reservation Status a Report returns, the
 *   Reservation Notification log page.
 * - NVMe/TCP PDUs: header codecs, a whole-PDU encoder and decoder that names the offending field
 *   of a malformed PDU, the header validator transports run on every PDU, and CRC32C digests.
 * - NQN validation, host ID and host NQN generation.
 *
 * Specifications cited: NVM Express Base 2.0, NVMe over Fabrics 1.1, NVM Command Set 1.0,
 * NVMe/TCP Transport 1.0.
 *
 * @example Usage
 * ```ts
 * import { decodeCqe, encodeCqe, formatStatus, statusOf, GenericStatus, StatusCodeType } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const status = statusOf(StatusCodeType.GENERIC, GenericStatus.NAMESPACE_NOT_READY);
 * const cqe = decodeCqe(encodeCqe({ cid: 7, status }));
 * assert.equal(cqe.cid, 7);
 * assert.equal(formatStatus(cqe.status), "NAMESPACE_NOT_READY (sct 0, sc 0x82)");
 * ```
 *
 * @module
 */

export * from "./constants.ts";
export * from "./errors.ts";
export * from "./status.ts";
export * from "./sqe.ts";
export * from "./cqe.ts";
export * from "./properties.ts";
export * from "./fabrics.ts";
export * from "./auth.ts";
export * from "./identify.ts";
export * from "./discovery.ts";
export * from "./log_pages.ts";
export * from "./ana_log.ts";
export * from "./nqn.ts";
export * from "./reservations.ts";
export * from "./tcp_pdu.ts";
export * from "./crc32c.ts";
