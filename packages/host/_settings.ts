/**
 * Connect options checked and completed (private): {@linkcode settings} turns the
 * {@linkcode ConnectOptions} a caller gave into the {@linkcode Settings} a `HostController` runs
 * with — the transport looked up, the host identity resolved in memory, every number checked and
 * every default filled in from `HOST_DEFAULTS`.
 *
 * @module
 */

import { type HostDhchap, hostDhchap } from "./_auth.ts";
import { CNTLID_DYNAMIC, DISCOVERY_NQN, IO_QUEUE_MIN_ENTRIES, IO_QUEUES_MAX } from "@nvmf/proto";
import { getTransport, type Transport, type TransportAddress } from "@nvmf/transport";
import { processHostIdentity, resolveHostIdentity } from "./identity.ts";
import { type ConnectOptions, HOST_DEFAULTS } from "./options.ts";

/** The settings of an association: {@linkcode ConnectOptions} checked, defaults filled in. */
export interface Settings {
  transport: Transport;
  address: TransportAddress;
  subnqn: string;
  hostnqn: string;
  hostid: Uint8Array;
  discovery: boolean;
  cntlid: number;
  ioQueues: number;
  queueSize: number;
  adminQueueSize: number;
  kato: number;
  headerDigests: boolean;
  dataDigests: boolean;
  sqFlowControl: boolean;
  reconnectDelay: number;
  ctrlLossTimeout: number;
  commandTimeout: number;
  adminTimeout: number;
  shutdownTimeout: number;
  maxRetries: number;
  asyncEvents: boolean;
  maxTransferSize: number | undefined;
  dhchap: HostDhchap | undefined;
}

function checkCount(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Cannot use ${name} ${value}: it must be an integer ${min} to ${max}`);
  }
  return value;
}

function checkMs(name: string, value: number, allowInfinity = false): number {
  if (
    typeof value !== "number" || Number.isNaN(value) || value < 0 ||
    (!allowInfinity && !Number.isFinite(value))
  ) {
    throw new RangeError(`Cannot use ${name} ${value}: it must be a number of milliseconds >= 0`);
  }
  return value;
}

/**
 * Checks `options` and fills in the defaults.
 *
 * @param options What the caller gave.
 * @returns The settings.
 * @throws {RangeError} When a count or time is out of range, or the host identity is malformed.
 */
export function settings(options: ConnectOptions): Settings {
  const transport = typeof options.transport === "object"
    ? options.transport
    : getTransport(options.transport);
  const discovery = options.subnqn === DISCOVERY_NQN;
  // In memory only: a library call creates no files (see persistentHostIdentity).
  const identity = options.hostnqn === undefined && options.hostid === undefined
    ? processHostIdentity()
    : resolveHostIdentity({ hostnqn: options.hostnqn, hostid: options.hostid });
  const kato = checkMs("kato", options.kato ?? (discovery ? 0 : HOST_DEFAULTS.kato));
  if (kato > 0xffffffff) throw new RangeError(`Cannot use kato ${kato}: it must fit 32 bits`);
  return {
    transport,
    address: { ...options.address },
    subnqn: options.subnqn,
    hostnqn: identity.hostnqn,
    hostid: identity.hostid,
    discovery,
    cntlid: checkCount("cntlid", options.cntlid ?? CNTLID_DYNAMIC, 0, 0xffff),
    ioQueues: discovery ? 0 : checkCount(
      "ioQueues",
      options.ioQueues ?? HOST_DEFAULTS.ioQueues,
      0,
      IO_QUEUES_MAX,
    ),
    queueSize: checkCount(
      "queueSize",
      options.queueSize ?? HOST_DEFAULTS.queueSize,
      IO_QUEUE_MIN_ENTRIES,
      65536,
    ),
    adminQueueSize: checkCount(
      "adminQueueSize",
      options.adminQueueSize ?? HOST_DEFAULTS.adminQueueSize,
      2,
      4096,
    ),
    kato: Math.round(kato),
    headerDigests: options.headerDigests ?? false,
    dataDigests: options.dataDigests ?? false,
    sqFlowControl: options.sqFlowControl ?? true,
    reconnectDelay: checkMs(
      "reconnectDelay",
      options.reconnectDelay ?? HOST_DEFAULTS.reconnectDelay,
    ),
    ctrlLossTimeout: checkMs(
      "ctrlLossTimeout",
      options.ctrlLossTimeout ?? HOST_DEFAULTS.ctrlLossTimeout,
      true,
    ),
    commandTimeout: checkMs(
      "commandTimeout",
      options.commandTimeout ?? HOST_DEFAULTS.commandTimeout,
    ),
    adminTimeout: checkMs("adminTimeout", options.adminTimeout ?? HOST_DEFAULTS.adminTimeout),
    shutdownTimeout: checkMs(
      "shutdownTimeout",
      options.shutdownTimeout ?? HOST_DEFAULTS.shutdownTimeout,
    ),
    maxRetries: checkCount("maxRetries", options.maxRetries ?? HOST_DEFAULTS.maxRetries, 0, 1000),
    asyncEvents: options.asyncEvents ?? !discovery,
    maxTransferSize: options.maxTransferSize === undefined
      ? undefined
      : checkCount("maxTransferSize", options.maxTransferSize, 512, 2 ** 32),
    dhchap: hostDhchap(options.dhchapSecret, options.dhchapCtrlSecret),
  };
}
