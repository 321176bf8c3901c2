/**
 * Hands an established queue pair or host association to another owner, serialised as FreeBSD's
 * libnvmf does for its kernel-offload ioctls: a packed libnv nvlist.
 *
 * - {@link ./nvlist.ts}: the libnv packed-nvlist codec. `packNvList()` is byte-identical to
 *   libnv's `nvlist_pack()`; `unpackNvList()` reads both byte orders, strictly by default or
 *   with exactly libnv's `nvlist_unpack()` verdicts; builders, typed getters, a JSON form.
 * - {@link ./records.ts}: the handoff records of sys/dev/nvmf/nvmf.h (qpair handoff, host
 *   handoff, reconnect parameters, controller qpair handoff, connection status) as zod-checked
 *   TypeScript records with nvlist and JSON codecs and the kernel's validation.
 *
 * Producers (from live host and controller objects) and consumers of these records live in the
 * packages that own those objects.
 *
 * @example Usage
 * ```ts
 * import {
 *   packNvList,
 *   qpairHandoffFromNvList,
 *   qpairHandoffToNvList,
 *   type QpairHandoff,
 *   unpackNvList,
 * } from "@nvmf/handoff";
 * import assert from "node:assert/strict";
 *
 * // The controller side of an I/O queue pair, as libnvmf's nvmf_handoff_controller_qpair()
 * // passes it: no sqtail, max_icd 0.
 * const qp: QpairHandoff = {
 *   admin: false, sqFlowControl: false, qsize: 128, sqhd: 0, fd: 3, rxpda: 4, txpda: 4,
 *   headerDigests: true, dataDigests: false, maxr2t: 1, maxh2cdata: 131072, maxIcd: 0,
 * };
 * const bytes = packNvList(qpairHandoffToNvList(qp, "controller"));
 * assert.equal(bytes.length, 417); // as libnv packs it on x86-64
 * assert.deepEqual(qpairHandoffFromNvList(unpackNvList(bytes), "controller"), qp);
 * ```
 *
 * @module
 */
export * from "./nvlist.ts";
export * from "./records.ts";
