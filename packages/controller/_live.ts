/**
 * The pieces of a target's live changes that are not the target's state: transport options as
 * SPDK's `nvmf_create_transport` gives them, checked and turned into port options, and how a
 * listener's address is matched. Private to the package; `Target` uses them.
 *
 * @module
 */

import type { AssociationParams, Transport, TransportAddress } from "@nvmf/transport";
import type { Port } from "./port.ts";

/** The options of a transport that a target applies to the ports it opens for listeners. */
export interface TransportOptions {
  /** In-capsule data an I/O command may carry, bytes (a multiple of 16; IOCCSZ). */
  inCapsuleDataSize?: number;
  /** Largest I/O queue a host may ask for, entries (MQES + 1). */
  maxQueueDepth?: number;
  /** Largest transfer of one command, bytes: a power of two from 4096 (MDTS). */
  maxIoSize?: number;
  /** I/O queues one controller may have. */
  maxIoQpairsPerCtrlr?: number;
}

/** What {@linkcode TransportOptions} become for `Target.listen`. */
export interface PortSettings {
  /** Association parameters. */
  associationParams: Partial<AssociationParams>;
  /** MDTS in bytes, when given. */
  maxTransferSize?: number;
  /** I/O queues per controller, when given. */
  maxQueues?: number;
}

function check(value: number | undefined, field: string, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Cannot use ${field} ${value}: it must be an integer ${min} to ${max}`);
  }
}

/**
 * Checks transport options and turns them into port settings.
 *
 * @param options The options.
 * @returns The settings.
 * @throws {RangeError} Naming the option that is out of range.
 */
export function portSettings(options: TransportOptions): PortSettings {
  check(options.inCapsuleDataSize, "inCapsuleDataSize", 0, 1 << 20);
  if (options.inCapsuleDataSize !== undefined && options.inCapsuleDataSize % 16 !== 0) {
    throw new RangeError(
      `Cannot use inCapsuleDataSize ${options.inCapsuleDataSize}: it must be a multiple of 16`,
    );
  }
  check(options.maxQueueDepth, "maxQueueDepth", 2, 65536);
  check(options.maxIoSize, "maxIoSize", 4096, 2 ** 31);
  if (options.maxIoSize !== undefined && (options.maxIoSize & (options.maxIoSize - 1)) !== 0) {
    throw new RangeError(`Cannot use maxIoSize ${options.maxIoSize}: it must be a power of two`);
  }
  check(options.maxIoQpairsPerCtrlr, "maxIoQpairsPerCtrlr", 1, 65535);
  const associationParams: Partial<AssociationParams> = {};
  if (options.inCapsuleDataSize !== undefined) {
    associationParams.ioInCapsuleData = options.inCapsuleDataSize;
  }
  if (options.maxQueueDepth !== undefined) associationParams.maxIoQsize = options.maxQueueDepth;
  return {
    associationParams,
    maxTransferSize: options.maxIoSize,
    maxQueues: options.maxIoQpairsPerCtrlr,
  };
}

/**
 * Whether a port listens on a transport and address.
 *
 * @param port The port.
 * @param transport The transport.
 * @param address The address (`trsvcid` compared as given; a port bound to 0 never matches).
 * @returns True when it is that listener.
 */
export function listensOn(port: Port, transport: Transport, address: TransportAddress): boolean {
  const a = port.address;
  return port.transport === transport && a.traddr === address.traddr &&
    (a.trsvcid ?? "") === (address.trsvcid ?? "");
}
