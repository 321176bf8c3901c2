/**
 * NVMe Qualified Names and host identifiers (NVM Express Base Specification 2.0, 4.5).
 *
 * An NQN names a host or an NVM subsystem. It is UTF-8, at most 223 bytes, and has one of three
 * forms: the date form `nqn.yyyy-mm.reverse.domain[:anything]`, the UUID form
 * `nqn.2014-08.org.nvmexpress:uuid:<uuid>`, or the well-known discovery NQN. A host's NQN is
 * commonly the UUID form of its 128-bit Host Identifier, the HOSTID of the Connect data.
 *
 * @example Usage
 * ```ts
 * import { hostIdFromNqn, hostNqnFromId, validateNqn } from "@nvmf/proto/nqn";
 * import assert from "node:assert/strict";
 * assert.equal(validateNqn("nqn.2026-01.test:kernel-target"), undefined);
 * assert.match(validateNqn("iqn.2026-01.test") ?? "", /must start with "nqn\."/);
 * const nqn = hostNqnFromId(new Uint8Array(16).fill(0x11));
 * assert.equal(nqn, "nqn.2014-08.org.nvmexpress:uuid:11111111-1111-1111-1111-111111111111");
 * assert.deepEqual(hostIdFromNqn(nqn), new Uint8Array(16).fill(0x11));
 * ```
 *
 * @module
 */

import { utf8Encoder } from "./_bytes.ts";
import {
  DISCOVERY_NQN,
  NQN_MAX_LENGTH,
  NQN_PREFIX,
  NQN_UUID_PREFIX,
  UUID_SIZE,
} from "./constants.ts";
import { bytesToHex } from "./bytes.ts";

// RFC 9562 4.1, 4.2: the version lives in the high nibble of byte 6, the variant in the two high
// bits of byte 8; a version 4 (random) UUID has 0100 and 10 there.
const UUID_VERSION_BYTE = 6;
const UUID_VERSION_4 = 0x40;
const UUID_VARIANT_BYTE = 8;
const UUID_VARIANT_RFC = 0x80;

const UUID_STRING_LENGTH = 36;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_PATTERN = /^(\d{4})-(\d{2})$/;
const LABEL_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const LABEL_MAX_LENGTH = 63; // RFC 1035 2.3.4

/**
 * Checks an NQN against the rules of Base 4.5 and says what is wrong with it.
 *
 * Accepted: the well-known discovery NQN; the UUID form, whose UUID must be well formed; the date
 * form `nqn.yyyy-mm.<reverse domain>` with a month 01 to 12 and at least one domain label (letters,
 * digits and inner hyphens, 1 to 63 characters each), optionally followed by `:` and a non-empty
 * string of the naming authority's choosing. The whole name is at most 223 bytes of UTF-8 and
 * holds no NUL.
 *
 * @param nqn The name to check.
 * @returns `undefined` when the NQN is valid, else a precise reason.
 * @example Usage
 * ```ts
 * import { validateNqn } from "@nvmf/proto/nqn";
 * import assert from "node:assert/strict";
 * assert.equal(validateNqn("nqn.2014-08.org.nvmexpress.discovery"), undefined);
 * assert.equal(validateNqn("nqn.2014-13.com.example"), "month 13 of \"2014-13\" is not 01 to 12");
 * ```
 */
export function validateNqn(nqn: string): string | undefined {
  if (typeof nqn !== "string") return `expected a string, received ${typeof nqn}`;
  const length = utf8Encoder.encode(nqn).length;
  if (length > NQN_MAX_LENGTH) {
    return `${length} bytes of UTF-8 exceed the limit of ${NQN_MAX_LENGTH}`;
  }
  if (nqn.includes("\0")) return "contains a NUL character";
  if (!nqn.startsWith(NQN_PREFIX)) return `must start with "${NQN_PREFIX}"`;
  if (nqn === DISCOVERY_NQN) return undefined;
  if (nqn.startsWith(NQN_UUID_PREFIX)) {
    const uuid = nqn.slice(NQN_UUID_PREFIX.length);
    return UUID_PATTERN.test(uuid)
      ? undefined
      : `"${uuid}" after "${NQN_UUID_PREFIX}" is not a UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`;
  }
  const rest = nqn.slice(NQN_PREFIX.length);
  const dot = rest.indexOf(".");
  const date = dot < 0 ? rest : rest.slice(0, dot);
  const match = DATE_PATTERN.exec(date);
  if (match === null) return `"${date}" after "${NQN_PREFIX}" is not a date of the form yyyy-mm`;
  const month = Number(match[2]);
  if (month < 1 || month > 12) return `month ${match[2]} of "${date}" is not 01 to 12`;
  if (dot < 0) return `needs a reverse domain name after "${date}"`;
  const tail = rest.slice(dot + 1);
  const colon = tail.indexOf(":");
  const domain = colon < 0 ? tail : tail.slice(0, colon);
  if (domain.length === 0) return `needs a reverse domain name after "${date}."`;
  for (const label of domain.split(".")) {
    if (label.length === 0) return `reverse domain name "${domain}" has an empty label`;
    if (label.length > LABEL_MAX_LENGTH) {
      return `label "${label}" of "${domain}" is longer than ${LABEL_MAX_LENGTH} characters`;
    }
    if (!LABEL_PATTERN.test(label)) {
      return `label "${label}" of "${domain}" may hold only letters, digits and inner hyphens`;
    }
  }
  if (colon >= 0 && colon === tail.length - 1) {
    return `needs a string after the ":" that follows "${domain}"`;
  }
  return undefined;
}

/**
 * Throws when an NQN breaks the rules of {@linkcode validateNqn}.
 *
 * @param nqn The name to check.
 * @param field What the name is, for the message: `"subnqn"`, `"hostnqn"`.
 * @throws {RangeError} When the NQN is invalid; the message names `field` and the reason.
 * @example Usage
 * ```ts
 * import { assertNqn } from "@nvmf/proto/nqn";
 * import assert from "node:assert/strict";
 * assertNqn("nqn.2026-01.test:kernel-target");
 * assert.throws(() => assertNqn("nqn.2026-01", "hostnqn"), RangeError);
 * ```
 */
export function assertNqn(nqn: string, field = "nqn"): void {
  const reason = validateNqn(nqn);
  if (reason !== undefined) {
    throw new RangeError(`Cannot accept ${field} ${JSON.stringify(nqn)}: ${reason}`);
  }
}

/**
 * Tells whether an NQN is the well-known discovery NQN.
 *
 * @param nqn The name to test.
 * @returns True for `nqn.2014-08.org.nvmexpress.discovery`.
 * @example Usage
 * ```ts
 * import { isDiscoveryNqn } from "@nvmf/proto/nqn";
 * import assert from "node:assert/strict";
 * assert.equal(isDiscoveryNqn("nqn.2014-08.org.nvmexpress.discovery"), true);
 * assert.equal(isDiscoveryNqn("nqn.2026-01.test:kernel-target"), false);
 * ```
 */
export function isDiscoveryNqn(nqn: string): boolean {
  return nqn === DISCOVERY_NQN;
}

/**
 * Makes a random Host Identifier: 16 bytes laid out as a version 4 UUID (RFC 9562 5.4).
 *
 * @returns 16 fresh bytes.
 * @example Usage
 * ```ts
 * import { generateHostId, uuidToString } from "@nvmf/proto/nqn";
 * import assert from "node:assert/strict";
 * const id = generateHostId();
 * assert.equal(id.length, 16);
 * assert.match(uuidToString(id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-/);
 * ```
 */
export function generateHostId(): Uint8Array {
  const id = crypto.getRandomValues(new Uint8Array(UUID_SIZE));
  id[UUID_VERSION_BYTE] = (id[UUID_VERSION_BYTE] & 0x0f) | UUID_VERSION_4;
  id[UUID_VARIANT_BYTE] = (id[UUID_VARIANT_BYTE] & 0x3f) | UUID_VARIANT_RFC;
  return id;
}

/**
 * Formats 16 bytes as a lowercase UUID string, bytes in order.
 *
 * @param bytes A UUID, 16 bytes.
 * @returns `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
 * @throws {RangeError} When `bytes` is not 16 bytes long.
 * @example Usage
 * ```ts
 * import { uuidToString } from "@nvmf/proto/nqn";
 * import assert from "node:assert/strict";
 * const b = Uint8Array.from({ length: 16 }, (_, i) => i);
 * assert.equal(uuidToString(b), "00010203-0405-0607-0809-0a0b0c0d0e0f");
 * ```
 */
export function uuidToString(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array) || bytes.length !== UUID_SIZE) {
    throw new RangeError(
      `Cannot format UUID: expected ${UUID_SIZE} bytes, received ${describeLength(bytes)}`,
    );
  }
  const h = bytesToHex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Parses a UUID string (either letter case) into its 16 bytes.
 *
 * @param s `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
 * @returns The 16 bytes, in string order.
 * @throws {RangeError} When `s` is not 36 characters long.
 * @throws {TypeError} When `s` has a character or dash out of place.
 * @example Usage
 * ```ts
 * import { uuidFromString } from "@nvmf/proto/nqn";
 * import assert from "node:assert/strict";
 * const b = uuidFromString("00010203-0405-0607-0809-0A0B0C0D0E0F");
 * assert.deepEqual(b, Uint8Array.from({ length: 16 }, (_, i) => i));
 * assert.throws(() => uuidFromString("0001020304050607"), RangeError);
 * ```
 */
export function uuidFromString(s: string): Uint8Array {
  if (typeof s !== "string" || s.length !== UUID_STRING_LENGTH) {
    throw new RangeError(
      `Cannot parse UUID: expected ${UUID_STRING_LENGTH} characters, received ${
        typeof s === "string" ? s.length : typeof s
      }`,
    );
  }
  if (!UUID_PATTERN.test(s)) {
    throw new TypeError(
      `Cannot parse UUID "${s}": expected hex digits as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
    );
  }
  const hex = s.replaceAll("-", "");
  const out = new Uint8Array(UUID_SIZE);
  for (let i = 0; i < UUID_SIZE; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Makes the UUID form of an NQN from a 16-byte Host Identifier, as `nvme gen-hostnqn` does.
 *
 * @param id The Host Identifier, 16 bytes.
 * @returns `nqn.2014-08.org.nvmexpress:uuid:<uuid>`.
 * @throws {RangeError} When `id` is not 16 bytes long.
 * @example Usage
 * ```ts
 * import { hostNqnFromId } from "@nvmf/proto/nqn";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   hostNqnFromId(new Uint8Array(16)),
 *   "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000000",
 * );
 * ```
 */
export function hostNqnFromId(id: Uint8Array): string {
  return NQN_UUID_PREFIX + uuidToString(id);
}

/**
 * Extracts the Host Identifier from an NQN of the UUID form.
 *
 * @param nqn Any NQN.
 * @returns The 16 UUID bytes, or `undefined` when `nqn` is not of the UUID form.
 * @example Usage
 * ```ts
 * import { hostIdFromNqn } from "@nvmf/proto/nqn";
 * import assert from "node:assert/strict";
 * const id = hostIdFromNqn("nqn.2014-08.org.nvmexpress:uuid:00010203-0405-0607-0809-0a0b0c0d0e0f");
 * assert.deepEqual(id, Uint8Array.from({ length: 16 }, (_, i) => i));
 * assert.equal(hostIdFromNqn("nqn.2026-01.test:kernel-target"), undefined);
 * ```
 */
export function hostIdFromNqn(nqn: string): Uint8Array | undefined {
  if (typeof nqn !== "string" || !nqn.startsWith(NQN_UUID_PREFIX)) return undefined;
  const uuid = nqn.slice(NQN_UUID_PREFIX.length);
  return UUID_PATTERN.test(uuid) ? uuidFromString(uuid) : undefined;
}

function describeLength(value: unknown): string {
  return value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
}
