/**
 * Ports: a port is a transport listener serving some or all of a target's subsystems and the
 * discovery service, made by `Target.listen` with {@linkcode ListenOptions}.
 *
 * @module
 */

import {
  type Association,
  type AssociationParams,
  type Listener,
  type QueuePair,
  QueuePairClosedError,
  type Transport,
  type TransportAddress,
} from "@nvmf/transport";

/** Options of {@linkcode Target.listen}. */
export interface ListenOptions {
  /** NQNs of the subsystems served on this port; default all, present and future. */
  subsystems?: readonly string[];
  /**
   * Association parameters: queue size limits, in-capsule data, controller model, whether
   * SQ flow control may be disabled (`sqFlowControl: false`, the default here, allows it),
   * and the NVMe/TCP values.
   */
  associationParams?: Partial<AssociationParams>;
  /** Port ID (PORTID in the discovery log); default the lowest free one from 1. */
  portid?: number;
  /**
   * False opens no listener: the port's queue pairs come from an acceptor elsewhere, through
   * {@linkcode Target.adoptQueuePair} (a handoff, as FreeBSD's ctld hands queue pairs to the
   * kernel target's ports), and `address` is where hosts reach that acceptor (what the
   * discovery log says). Default true.
   */
  accept?: boolean;
  /** I/O queues a controller made through this port may have; default the target's. */
  maxQueues?: number;
  /** Largest transfer of one command (MDTS), a power of two from 4096; default the target's. */
  maxTransferSize?: number;
}

/**
 * Changes the subsystems a port serves (the target's listener changes). Private to the
 * package: not exported from `mod.ts`.
 */
export let setPortSubsystems: (port: Port, nqns: readonly string[] | undefined) => void;

/** The listener of a port that accepts nothing itself (`accept: false`). */
export class NoListener implements Listener {
  readonly address: TransportAddress;
  #closed = false;
  #waiters: ((error: Error) => void)[] = [];

  constructor(address: TransportAddress) {
    this.address = { ...address };
  }

  accept(): Promise<QueuePair> {
    if (this.#closed) {
      return Promise.reject(new QueuePairClosedError("Cannot accept: the port is closed"));
    }
    return new Promise((_, reject) => this.#waiters.push(reject));
  }

  close(): Promise<void> {
    this.#closed = true;
    const error = new QueuePairClosedError("Cannot accept: the port is closed");
    for (const reject of this.#waiters.splice(0)) reject(error);
    return Promise.resolve();
  }
}

/**
 * A port: one transport listener serving some or all subsystems and the discovery service.
 * Made by {@linkcode Target.listen}.
 *
 * @example Usage
 * ```ts
 * import { Target } from "@nvmf/controller";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * const port = await target.listen("loopback", { traddr: "port-doc" }, { subsystems: ["nqn.2026-01.dev.nvmf:a"] });
 * assert.equal(port.exposes("nqn.2026-01.dev.nvmf:a"), true);
 * assert.equal(port.exposes("nqn.2026-01.dev.nvmf:b"), false);
 * await port.close();
 * await target.close();
 * ```
 */
export class Port {
  /** Port ID (PORTID in the discovery log), from 1. */
  readonly portid: number;
  /** The transport. */
  readonly transport: Transport;
  /** The association accepted queue pairs belong to. */
  readonly association: Association;
  readonly #listener: Listener;
  #subsystems: readonly string[] | undefined;
  readonly #close: () => Promise<void>;

  /**
   * Made by {@linkcode Target.listen}.
   *
   * @param portid The port ID.
   * @param association The controller-side association.
   * @param listener The transport listener.
   * @param subsystems The NQNs served, undefined for all.
   * @param close Closes the port in its target.
   */
  constructor(
    portid: number,
    association: Association,
    listener: Listener,
    subsystems: readonly string[] | undefined,
    close: () => Promise<void>,
  ) {
    this.portid = portid;
    this.transport = association.transport;
    this.association = association;
    this.#listener = listener;
    this.#subsystems = subsystems;
    this.#close = close;
  }

  /** The address actually bound (with the port the system chose for port 0). */
  get address(): TransportAddress {
    return this.#listener.address;
  }

  /** NQNs of the subsystems served here; undefined means all. */
  get subsystems(): readonly string[] | undefined {
    return this.#subsystems;
  }

  /**
   * Whether a subsystem is served on this port.
   *
   * @param nqn The subsystem NQN.
   * @returns True when served.
   */
  exposes(nqn: string): boolean {
    return this.#subsystems === undefined || this.#subsystems.includes(nqn);
  }

  static {
    setPortSubsystems = (port, nqns) => {
      port.#subsystems = nqns;
    };
  }

  /**
   * Stops listening and tears down the controllers whose admin queue came through this port.
   *
   * @returns Settles when all is released.
   */
  close(): Promise<void> {
    return this.#close();
  }
}
