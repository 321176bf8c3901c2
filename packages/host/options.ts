/**
 * What {@linkcode connect} takes: {@linkcode ConnectOptions}, and {@linkcode HOST_DEFAULTS}, the
 * values used for what it leaves out — those of Linux's host (`nvme-fabrics`) where it has one:
 * admin queue 32 entries, I/O queues 128, KATO 5 s, I/O timeout 30 s, admin timeout 60 s,
 * reconnect delay 10 s, controller-loss timeout 600 s, 5 retries.
 *
 * @example Usage
 * ```ts
 * import { type ConnectOptions, HOST_DEFAULTS } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * const options: ConnectOptions = {
 *   transport: "tcp",
 *   address: { traddr: "192.0.2.10", trsvcid: "4420" },
 *   subnqn: "nqn.2026-01.test:disk",
 *   kato: HOST_DEFAULTS.kato * 2,
 * };
 * assert.equal(options.kato, 10_000);
 * ```
 *
 * @module
 */

import type { Transport, TransportAddress } from "@nvmf/transport";

/** How to reach a controller and what to ask of the association. */
export interface ConnectOptions {
  /** A registered transport's name or TRTYPE (`"tcp"`, `"loopback"`, 3), or a transport. */
  transport: string | number | Transport;
  /** Where the controller listens. */
  address: TransportAddress;
  /** The subsystem NQN; the discovery NQN connects to a discovery controller. */
  subnqn: string;
  /**
   * The host NQN. Without it (and without `hostid`) the host is this process's in-memory
   * identity; see {@linkcode resolveHostIdentity}. No file is read or written: a tool that wants
   * the system's identity passes that of {@linkcode persistentHostIdentity}.
   */
  hostnqn?: string;
  /** The Host Identifier, 16 bytes or a UUID string; see {@linkcode resolveHostIdentity}. */
  hostid?: Uint8Array | string;
  /**
   * CNTLID asked for in the admin queue's Connect: FFFFh (dynamic model, the default), FFFEh
   * (any controller of a static subsystem) or a static controller's ID.
   */
  cntlid?: number;
  /** I/O queues to ask for (default 1; 0 for an admin-only association). */
  ioQueues?: number;
  /** Entries of each I/O queue (default 128, lowered to CAP.MQES + 1 and MAXCMD). */
  queueSize?: number;
  /** Entries of the admin queue (default 32). */
  adminQueueSize?: number;
  /** Keep Alive Timeout in ms (default 5000; 0 turns keep-alive off; discovery: 0). */
  kato?: number;
  /** NVMe/TCP header digests (default false). */
  headerDigests?: boolean;
  /** NVMe/TCP data digests (default false). */
  dataDigests?: boolean;
  /** Whether SQ flow control is required (default true; false asks the controller to drop it). */
  sqFlowControl?: boolean;
  /** Ms between reconnect attempts after a connection breaks (default 10000). */
  reconnectDelay?: number;
  /** Ms after a break before the controller is given up (default 600000; 0: never reconnect). */
  ctrlLossTimeout?: number;
  /** Timeout of I/O commands in ms (default 30000). */
  commandTimeout?: number;
  /** Timeout of admin commands in ms (default 60000). */
  adminTimeout?: number;
  /**
   * How long `close()` waits for the controller to report its shutdown complete, in ms (default
   * 5000, raised to RTD3E up to 60 s); also the longest each of its Property Get/Set may take,
   * so that a silent controller does not hold `close()` for the admin timeout.
   */
  shutdownTimeout?: number;
  /** Retries of an I/O command that failed without DNR or lost its connection (default 5). */
  maxRetries?: number;
  /** Whether to post Asynchronous Event Requests (default true, false for discovery). */
  asyncEvents?: boolean;
  /**
   * Most bytes one command transfers: the controller's MDTS lowers it; when the controller
   * reports no limit (MDTS 0) the default is 1 MiB, about what Linux's block layer sends.
   */
  maxTransferSize?: number;
  /** Gives up connecting when aborted. */
  signal?: AbortSignal;
  /**
   * The host's DH-HMAC-CHAP secret `DHHC-1:hh:...:` (nvme-cli's `--dhchap-secret`): used when
   * the controller asks for in-band authentication, on every queue and every reconnect.
   */
  dhchapSecret?: string;
  /**
   * The controller's secret (nvme-cli's `--dhchap-ctrl-secret`): the host authenticates the
   * controller too, and gives up when its response is wrong.
   */
  dhchapCtrlSecret?: string;
}

/** The defaults of {@linkcode ConnectOptions}, those of Linux's host where it has one. */
export const HOST_DEFAULTS: Readonly<{
  ioQueues: number;
  queueSize: number;
  adminQueueSize: number;
  kato: number;
  reconnectDelay: number;
  ctrlLossTimeout: number;
  commandTimeout: number;
  adminTimeout: number;
  maxRetries: number;
  shutdownTimeout: number;
  maxTransferSize: number;
}> = Object.freeze({
  ioQueues: 1,
  queueSize: 128, // NVMF_DEF_QUEUE_SIZE
  adminQueueSize: 32, // NVME_AQ_DEPTH
  kato: 5000, // NVME_DEFAULT_KATO
  reconnectDelay: 10_000, // NVMF_DEF_RECONNECT_DELAY
  ctrlLossTimeout: 600_000, // NVMF_DEF_CTRL_LOSS_TMO
  commandTimeout: 30_000, // io_timeout
  adminTimeout: 60_000, // admin_timeout
  maxRetries: 5, // nvme_max_retries
  shutdownTimeout: 5000, // shutdown_timeout
  maxTransferSize: 1 << 20, // when MDTS is 0; BLK_DEF_MAX_SECTORS is 1.25 MiB
});
