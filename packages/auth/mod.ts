/**
 * `@nvmf/auth`: the computations of NVMe in-band authentication, DH-HMAC-CHAP (NVM Express
 * Base 2.0 8.13, TP 8006), shared by `@nvmf/host` and `@nvmf/controller`. The messages
 * themselves are codecs in `@nvmf/proto/auth`; the transactions are in each role's package.
 *
 * - {@link ./secret.ts}: secrets `DHHC-1:hh:base64:` (CRC-32 checked), the key transform by NQN,
 *   new secrets as `nvme gen-dhchap-key` makes them; a secret never prints its key.
 * - {@link ./dh.ts}: the RFC 7919 ffdhe groups, ephemeral key pairs, peer value checks.
 * - {@link ./dhchap.ts}: hashes, the augmented challenge, R1/R2, constant-time comparison.
 *
 * Everything is `node:crypto` (HMAC, SHA-2, DH), so it runs on Deno, Node and Bun.
 *
 * @example Usage
 * ```ts
 * import { dhchapResponse, parseDhchapSecret } from "@nvmf/auth";
 * import assert from "node:assert/strict";
 * import { Buffer } from "node:buffer";
 * const secret = parseDhchapSecret("DHHC-1:00:IpktLQLxaeA2eFbEtDT5H6iOegx/TnRKlB2V2oNoU6PtvqeC:");
 * const r1 = dhchapResponse({
 *   hashId: 1,
 *   key: secret.transform("nqn.2026-01.test:auth-host"),
 *   challenge: Uint8Array.from(Buffer.from("7d636f4c18a08c2754b6df962fc7e2427c2dba8047d5f12a35872cbec821d7a1", "hex")),
 *   seqnum: 1213954388,
 *   tid: 0,
 *   role: "host",
 *   hostnqn: "nqn.2026-01.test:auth-host",
 *   subnqn: "nqn.2026-01.test:kernel-target",
 * });
 * assert.equal(Buffer.from(r1).toString("hex"), "33e2bbe3baad68dd76c4948c505a654857869e2aaf1f0f1fe810c39714b4e41d");
 * ```
 *
 * @module
 */

export * from "./secret.ts";
export * from "./dh.ts";
export * from "./dhchap.ts";
