/**
 * The messages of NVMe in-band authentication (NVM Express Base 2.0, 8.13 and 5.3: TP 8006
 * DH-HMAC-CHAP), as the Authentication Send command carries them host to controller and the
 * Authentication Receive command's data carries them controller to host: AUTH_Negotiate,
 * DH-HMAC-CHAP_Challenge, _Reply, _Success1, _Success2, AUTH_Failure1 and AUTH_Failure2.
 *
 * Layouts are Linux's `struct nvmf_auth_dhchap_*_data` (include/linux/nvme.h), checked against
 * the Linux 6.12 captures in `shared/fixtures/auth`. Integers are little endian. A decoder
 * checks the lengths a message's own fields give and throws {@linkcode ProtocolFieldError}
 * naming the field; whether a hash length or DH value length fits the negotiated parameters is
 * for the caller (`@nvmf/auth` knows the sizes).
 *
 * @example Usage
 * ```ts
 * import { decodeAuthMessage, encodeSuccess2 } from "@nvmf/proto/auth";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeAuthMessage(encodeSuccess2(1)), { kind: "success2", tid: 1 });
 * ```
 *
 * @module
 */

import { dataView } from "./_bytes.ts";
import {
  AUTH_DHCHAP_AUTHID,
  AuthMessageId,
  AuthMessageType,
  AuthSecureChannel,
  DhchapDhGroupId,
  DhchapHashId,
} from "./constants.ts";
import { ProtocolFieldError } from "./errors.ts";

/** Size of the common header of DH-HMAC-CHAP messages (type, id, T_ID and six more bytes). */
export const AUTH_HEADER_SIZE = 16;
/** Size of AUTH_Negotiate with its one protocol descriptor. */
export const NEGOTIATE_SIZE = 72;
/** Size of one DH-HMAC-CHAP protocol descriptor in AUTH_Negotiate. */
export const NEGOTIATE_DESCRIPTOR_SIZE = 64;
/** Size of AUTH_Failure1/2. */
export const FAILURE_SIZE = 8;
/** Largest number of hash or DH group IDs a descriptor holds (Linux MAX_HASH_IDS, MAX_DH_IDS). */
export const NEGOTIATE_MAX_IDS = 30;

/** Offset of T_ID (u16) in every message. */
export const AUTH_TID = 4;
/** Offsets in AUTH_Negotiate. */
export const NEGOTIATE_SC_C = 6;
/** NAPD, number of protocol descriptors. */
export const NEGOTIATE_NAPD = 7;
/** AUTHID of the first descriptor. */
export const NEGOTIATE_AUTHID = 8;
/** HALEN of the first descriptor. */
export const NEGOTIATE_HALEN = 10;
/** DHLEN of the first descriptor. */
export const NEGOTIATE_DHLEN = 11;
/** First hash ID (30 slots). */
export const NEGOTIATE_HASH_IDS = 12;
/** First DH group ID (30 slots). */
export const NEGOTIATE_DH_IDS = 42;
/** Offsets in the Challenge, Reply and Success1 messages. */
export const DHCHAP_HL = 6;
/** HASHID (Challenge), CVALID (Reply), RVALID (Success1). */
export const DHCHAP_BYTE8 = 8;
/** DHGID (Challenge). */
export const CHALLENGE_DHGID = 9;
/** DHVLEN (u16, Challenge and Reply). */
export const DHCHAP_DHVLEN = 10;
/** SEQNUM (u32, Challenge and Reply). */
export const DHCHAP_SEQNUM = 12;
/** Reason code and explanation of AUTH_Failure1/2. */
export const FAILURE_REASON = 6;
/** Reason code explanation of AUTH_Failure1/2. */
export const FAILURE_EXPLANATION = 7;

/** AUTH_Negotiate: what the host offers. */
export interface AuthNegotiate {
  /** Which message. */
  kind: "negotiate";
  /** Transaction ID. */
  tid: number;
  /** SC_C, secure channel concatenation (`AuthSecureChannel`). */
  scC: number;
  /** NAPD, protocol descriptors (only 1 is meaningful). */
  napd: number;
  /** AUTHID of the first descriptor (1 for DH-HMAC-CHAP). */
  authid: number;
  /** Hash IDs offered, in the host's order. */
  hashIds: number[];
  /** DH group IDs offered, in the host's order. */
  dhgroupIds: number[];
}

/** DH-HMAC-CHAP_Challenge: the controller's challenge. */
export interface DhchapChallenge {
  /** Which message. */
  kind: "challenge";
  /** Transaction ID. */
  tid: number;
  /** HASHID chosen. */
  hashId: number;
  /** DHGID chosen (0: no DH). */
  dhgroupId: number;
  /** SEQNUM S1. */
  seqnum: number;
  /** C1, HL bytes. */
  challenge: Uint8Array;
  /** The controller's DH public value (empty with the null group). */
  dhValue: Uint8Array;
}

/** DH-HMAC-CHAP_Reply: the host's response (and challenge when bidirectional). */
export interface DhchapReply {
  /** Which message. */
  kind: "reply";
  /** Transaction ID. */
  tid: number;
  /** CVALID: C2 is valid, the host wants the controller authenticated. */
  cvalid: boolean;
  /** SEQNUM S2. */
  seqnum: number;
  /** R1, HL bytes. */
  response: Uint8Array;
  /** C2, HL bytes (zeros when not `cvalid`). */
  challenge: Uint8Array;
  /** The host's DH public value (empty with the null group). */
  dhValue: Uint8Array;
}

/** DH-HMAC-CHAP_Success1: the controller accepted the host (and answers C2). */
export interface DhchapSuccess1 {
  /** Which message. */
  kind: "success1";
  /** Transaction ID. */
  tid: number;
  /** RVALID: R2 is valid. */
  rvalid: boolean;
  /** R2, HL bytes (zeros when not `rvalid`). */
  response: Uint8Array;
}

/** DH-HMAC-CHAP_Success2: the host accepted the controller. */
export interface DhchapSuccess2 {
  /** Which message. */
  kind: "success2";
  /** Transaction ID. */
  tid: number;
}

/** AUTH_Failure1 (controller to host) or AUTH_Failure2 (host to controller). */
export interface AuthFailure {
  /** Which message. */
  kind: "failure1" | "failure2";
  /** Transaction ID. */
  tid: number;
  /** Reason code (1: authentication failure). */
  reason: number;
  /** Reason code explanation (`AuthFailureExplanation`). */
  explanation: number;
}

/** Any authentication message. */
export type AuthMessage =
  | AuthNegotiate
  | DhchapChallenge
  | DhchapReply
  | DhchapSuccess1
  | DhchapSuccess2
  | AuthFailure;

/** Every hash ID and DH group ID this stack knows, as the Linux host offers them. */
const ALL_HASHES = [DhchapHashId.SHA256, DhchapHashId.SHA384, DhchapHashId.SHA512];
const ALL_GROUPS = [
  DhchapDhGroupId.NULL,
  DhchapDhGroupId.FFDHE2048,
  DhchapDhGroupId.FFDHE3072,
  DhchapDhGroupId.FFDHE4096,
  DhchapDhGroupId.FFDHE6144,
  DhchapDhGroupId.FFDHE8192,
];

function header(size: number, type: number, id: number, tid: number): Uint8Array {
  if (!Number.isInteger(tid) || tid < 0 || tid > 0xffff) {
    throw new RangeError(`Cannot encode T_ID: ${tid} is not a 16-bit value`);
  }
  const out = new Uint8Array(size);
  out[0] = type;
  out[1] = id;
  out[AUTH_TID] = tid;
  out[AUTH_TID + 1] = tid >>> 8;
  return out;
}

function hashLength(hl: number, ...values: Uint8Array[]): void {
  if (hl < 1 || hl > 0xff) throw new RangeError(`Cannot encode HL: ${hl} is out of range`);
  for (const v of values) {
    if (v.length !== hl) {
      throw new RangeError(`Cannot encode a DH-HMAC-CHAP value of ${v.length} bytes: HL is ${hl}`);
    }
  }
}

/**
 * Encodes AUTH_Negotiate with one DH-HMAC-CHAP descriptor.
 *
 * @param m T_ID, and the hash and DH group IDs offered (default: all, as the Linux host).
 * @returns The 72-byte message.
 * @throws {RangeError} If more than 30 IDs are given.
 * @example Usage
 * ```ts
 * import { encodeNegotiate } from "@nvmf/proto/auth";
 * import assert from "node:assert/strict";
 * const m = encodeNegotiate({ tid: 0 });
 * assert.deepEqual([...m.subarray(6, 12)], [0, 1, 1, 0, 3, 6]);
 * ```
 */
export function encodeNegotiate(
  m: { tid: number; scC?: number; hashIds?: readonly number[]; dhgroupIds?: readonly number[] },
): Uint8Array {
  const hashes = m.hashIds ?? ALL_HASHES;
  const groups = m.dhgroupIds ?? ALL_GROUPS;
  if (hashes.length > NEGOTIATE_MAX_IDS || groups.length > NEGOTIATE_MAX_IDS) {
    throw new RangeError(`Cannot encode AUTH_Negotiate: at most ${NEGOTIATE_MAX_IDS} IDs a list`);
  }
  const out = header(NEGOTIATE_SIZE, AuthMessageType.COMMON, AuthMessageId.NEGOTIATE, m.tid);
  out[NEGOTIATE_SC_C] = m.scC ?? AuthSecureChannel.NONE;
  out[NEGOTIATE_NAPD] = 1;
  out[NEGOTIATE_AUTHID] = AUTH_DHCHAP_AUTHID;
  out[NEGOTIATE_HALEN] = hashes.length;
  out[NEGOTIATE_DHLEN] = groups.length;
  out.set(hashes, NEGOTIATE_HASH_IDS);
  out.set(groups, NEGOTIATE_DH_IDS);
  return out;
}

/**
 * Encodes DH-HMAC-CHAP_Challenge.
 *
 * @param m The fields; HL is the challenge's length.
 * @returns The message: 16 bytes, C1, then the DH value.
 * @throws {RangeError} If a field is out of range.
 */
export function encodeChallenge(m: Omit<DhchapChallenge, "kind">): Uint8Array {
  const hl = m.challenge.length;
  hashLength(hl);
  if (m.dhValue.length > 0xffff) throw new RangeError("Cannot encode DHVLEN: value too long");
  const out = header(
    AUTH_HEADER_SIZE + hl + m.dhValue.length,
    AuthMessageType.DHCHAP,
    AuthMessageId.CHALLENGE,
    m.tid,
  );
  const v = dataView(out);
  out[DHCHAP_HL] = hl;
  out[DHCHAP_BYTE8] = m.hashId;
  out[CHALLENGE_DHGID] = m.dhgroupId;
  v.setUint16(DHCHAP_DHVLEN, m.dhValue.length, true);
  v.setUint32(DHCHAP_SEQNUM, m.seqnum, true);
  out.set(m.challenge, AUTH_HEADER_SIZE);
  out.set(m.dhValue, AUTH_HEADER_SIZE + hl);
  return out;
}

/**
 * Encodes DH-HMAC-CHAP_Reply: R1 and C2 (zeros unless `cvalid`) are both HL bytes, as Linux
 * sends them.
 *
 * @param m The fields.
 * @returns The message: 16 bytes, R1, C2, then the DH value.
 * @throws {RangeError} If a field is out of range.
 */
export function encodeReply(m: Omit<DhchapReply, "kind">): Uint8Array {
  const hl = m.response.length;
  hashLength(hl, m.challenge);
  if (m.dhValue.length > 0xffff) throw new RangeError("Cannot encode DHVLEN: value too long");
  const out = header(
    AUTH_HEADER_SIZE + 2 * hl + m.dhValue.length,
    AuthMessageType.DHCHAP,
    AuthMessageId.REPLY,
    m.tid,
  );
  const v = dataView(out);
  out[DHCHAP_HL] = hl;
  out[DHCHAP_BYTE8] = m.cvalid ? 1 : 0;
  v.setUint16(DHCHAP_DHVLEN, m.dhValue.length, true);
  v.setUint32(DHCHAP_SEQNUM, m.seqnum, true);
  out.set(m.response, AUTH_HEADER_SIZE);
  if (m.cvalid) out.set(m.challenge, AUTH_HEADER_SIZE + hl);
  out.set(m.dhValue, AUTH_HEADER_SIZE + 2 * hl);
  return out;
}

/**
 * Encodes DH-HMAC-CHAP_Success1; R2 is zero-filled unless `rvalid`, and always HL bytes.
 *
 * @param m The fields.
 * @returns The message: 16 bytes then R2.
 * @throws {RangeError} If a field is out of range.
 */
export function encodeSuccess1(m: Omit<DhchapSuccess1, "kind">): Uint8Array {
  const hl = m.response.length;
  hashLength(hl);
  const out = header(AUTH_HEADER_SIZE + hl, AuthMessageType.DHCHAP, AuthMessageId.SUCCESS1, m.tid);
  out[DHCHAP_HL] = hl;
  out[DHCHAP_BYTE8] = m.rvalid ? 1 : 0;
  if (m.rvalid) out.set(m.response, AUTH_HEADER_SIZE);
  return out;
}

/**
 * Encodes DH-HMAC-CHAP_Success2.
 *
 * @param tid Transaction ID.
 * @returns The 16-byte message.
 */
export function encodeSuccess2(tid: number): Uint8Array {
  return header(AUTH_HEADER_SIZE, AuthMessageType.DHCHAP, AuthMessageId.SUCCESS2, tid);
}

/**
 * Encodes AUTH_Failure1 or AUTH_Failure2.
 *
 * @param m Which, T_ID, reason code and explanation.
 * @returns The 8-byte message.
 */
export function encodeFailure(
  m: Omit<AuthFailure, "kind"> & { kind: AuthFailure["kind"] },
): Uint8Array {
  const id = m.kind === "failure1" ? AuthMessageId.FAILURE1 : AuthMessageId.FAILURE2;
  const out = header(FAILURE_SIZE, AuthMessageType.COMMON, id, m.tid);
  out[FAILURE_REASON] = m.reason;
  out[FAILURE_EXPLANATION] = m.explanation;
  return out;
}

function need(b: Uint8Array, size: number, what: string, field: string, offset: number): void {
  if (b.length < size) {
    throw new ProtocolFieldError(
      `Cannot decode ${what} as it needs ${size} bytes: received ${b.length}`,
      field,
      offset,
    );
  }
}

/**
 * Decodes any authentication message by its AUTH_Type and AUTH_Id. Bytes past the message
 * (the zeros of a 4096-byte Authentication Receive buffer) are ignored; the returned values
 * are copies.
 *
 * @param b The message bytes.
 * @returns The message.
 * @throws {ProtocolFieldError} If the type or id is unknown, or a length field runs past the
 * bytes (naming the field and its offset).
 * @example Usage
 * ```ts
 * import { decodeAuthMessage, encodeNegotiate } from "@nvmf/proto/auth";
 * import assert from "node:assert/strict";
 * const m = decodeAuthMessage(encodeNegotiate({ tid: 1 }));
 * assert.equal(m.kind, "negotiate");
 * if (m.kind === "negotiate") assert.deepEqual(m.hashIds, [1, 2, 3]);
 * ```
 */
export function decodeAuthMessage(b: Uint8Array): AuthMessage {
  need(b, FAILURE_SIZE, "an authentication message", "AUTH_Type", 0);
  const v = dataView(b);
  const type = b[0];
  const id = b[1];
  const tid = v.getUint16(AUTH_TID, true);
  if (type === AuthMessageType.COMMON) {
    if (id === AuthMessageId.FAILURE1 || id === AuthMessageId.FAILURE2) {
      return {
        kind: id === AuthMessageId.FAILURE1 ? "failure1" : "failure2",
        tid,
        reason: b[FAILURE_REASON],
        explanation: b[FAILURE_EXPLANATION],
      };
    }
    if (id !== AuthMessageId.NEGOTIATE) {
      throw new ProtocolFieldError(`Cannot decode AUTH_Id ${id} of a common message`, "AUTH_Id", 1);
    }
    need(b, NEGOTIATE_SIZE, "AUTH_Negotiate", "NAPD", NEGOTIATE_NAPD);
    const halen = b[NEGOTIATE_HALEN];
    const dhlen = b[NEGOTIATE_DHLEN];
    if (halen > NEGOTIATE_MAX_IDS) {
      throw new ProtocolFieldError(`Cannot decode HALEN ${halen}`, "HALEN", NEGOTIATE_HALEN);
    }
    if (dhlen > NEGOTIATE_MAX_IDS) {
      throw new ProtocolFieldError(`Cannot decode DHLEN ${dhlen}`, "DHLEN", NEGOTIATE_DHLEN);
    }
    return {
      kind: "negotiate",
      tid,
      scC: b[NEGOTIATE_SC_C],
      napd: b[NEGOTIATE_NAPD],
      authid: b[NEGOTIATE_AUTHID],
      hashIds: [...b.subarray(NEGOTIATE_HASH_IDS, NEGOTIATE_HASH_IDS + halen)],
      dhgroupIds: [...b.subarray(NEGOTIATE_DH_IDS, NEGOTIATE_DH_IDS + dhlen)],
    };
  }
  if (type !== AuthMessageType.DHCHAP) {
    throw new ProtocolFieldError(`Cannot decode AUTH_Type ${type}`, "AUTH_Type", 0);
  }
  need(b, AUTH_HEADER_SIZE, "a DH-HMAC-CHAP message", "AUTH_Id", 1);
  const hl = b[DHCHAP_HL];
  const dhvlen = v.getUint16(DHCHAP_DHVLEN, true);
  const seqnum = v.getUint32(DHCHAP_SEQNUM, true);
  const at = AUTH_HEADER_SIZE;
  switch (id) {
    case AuthMessageId.CHALLENGE:
      need(b, at + hl + dhvlen, "DH-HMAC-CHAP_Challenge", "DHVLEN", DHCHAP_DHVLEN);
      return {
        kind: "challenge",
        tid,
        hashId: b[DHCHAP_BYTE8],
        dhgroupId: b[CHALLENGE_DHGID],
        seqnum,
        challenge: b.slice(at, at + hl),
        dhValue: b.slice(at + hl, at + hl + dhvlen),
      };
    case AuthMessageId.REPLY:
      need(b, at + 2 * hl + dhvlen, "DH-HMAC-CHAP_Reply", "DHVLEN", DHCHAP_DHVLEN);
      return {
        kind: "reply",
        tid,
        cvalid: b[DHCHAP_BYTE8] !== 0,
        seqnum,
        response: b.slice(at, at + hl),
        challenge: b.slice(at + hl, at + 2 * hl),
        dhValue: b.slice(at + 2 * hl, at + 2 * hl + dhvlen),
      };
    case AuthMessageId.SUCCESS1:
      need(b, at + hl, "DH-HMAC-CHAP_Success1", "HL", DHCHAP_HL);
      return {
        kind: "success1",
        tid,
        rvalid: b[DHCHAP_BYTE8] !== 0,
        response: b.slice(at, at + hl),
      };
    case AuthMessageId.SUCCESS2:
      return { kind: "success2", tid };
    default:
      throw new ProtocolFieldError(`Cannot decode AUTH_Id ${id} of DH-HMAC-CHAP`, "AUTH_Id", 1);
  }
}
