/**
 * The target: subsystems, the ports they are served on, the discovery service, and the
 * Fabrics Connect handling that turns accepted queue pairs into controllers (NVMe over Fabrics
 * 1.1, 3.3; the checks and statuses of FreeBSD's `nvmf_accept` and Linux's nvmet).
 *
 * A port is a transport listener. Each queue pair accepted on it must start with a Connect:
 * an admin queue Connect (QID 0) creates a controller of the subsystem named in the Connect
 * data, or a discovery controller for the well-known discovery NQN; an I/O queue Connect joins
 * an existing controller of the same host. Anything wrong is answered with the Connect status
 * Linux's host expects (with IATTR and IPO for CONNECT_INVALID_PARAMETERS and
 * CONNECT_INVALID_HOST) and the queue pair is closed.
 *
 * @module
 */

import {
  CNTLID_MAX,
  CONNECT_DATA_SIZE,
  ConnectAuthReq,
  connectInvalidParameterDw0,
  connectResponseDw0,
  CQE_SIZE,
  DISCOVERY_NQN,
  encodeCqe,
  GenericStatus,
  SQE_SIZE,
} from "@nvmf/proto";
import {
  Association,
  type AssociationParams,
  type CommandCapsule,
  getTransport,
  type Listener,
  type QueuePair,
  QueuePairClosedError,
  type Transport,
  type TransportAddress,
} from "@nvmf/transport";
import {
  ControllerAuth,
  type DhchapPolicy,
  type ParsedDhchapPolicy,
  parseDhchapPolicy,
} from "./_auth.ts";
import { cidOf, randomHex } from "./_bytes.ts";
import {
  type AdmissionState,
  admitConnect,
  checkConnectCommand,
  type ConnectRejection,
} from "./_connect.ts";
import { ConnectionLimits } from "./_conn_limits.ts";
import { discoveryLog } from "./_discovery_log.ts";
import { anaStateValue, checkAnaGroup, type SetAnaStateParams } from "./ana.ts";
import { genericStatus, SUCCESS } from "./_status.ts";
import { Controller, type ControllerHooks } from "./controller.ts";
import { listensOn, portSettings, type TransportOptions } from "./_live.ts";
import { BdevRegistry } from "./bdev.ts";
import { type ListenOptions, NoListener, Port, setPortSubsystems } from "./port.ts";
import { Subsystem, type SubsystemListener, type SubsystemOptions } from "./subsystem.ts";

/** Options of a {@linkcode Target}; every field has a default. */
export interface TargetOptions {
  /** Start of generated serial numbers (a random hex tail fills 20 characters). Default `""`. */
  serialPrefix?: string;
  /** Model number of subsystems that give none, and of the discovery controller. Default `"nvmf"`. */
  model?: string;
  /** Firmware revision reported when a subsystem gives none. Default `"0.1.0"`. */
  firmware?: string;
  /** I/O queues one controller may have (Number of Queues). Default 128, as Linux's nvmet. */
  maxQueues?: number;
  /** Largest NSID, Identify Controller NN. Default 1024, as Linux's nvmet. */
  maxNamespaces?: number;
  /** Largest transfer of one command in bytes, a power of two from 4096 (MDTS). Default 1 MiB. */
  maxTransferSize?: number;
  /** KATO of a discovery controller whose host asked for none, ms. Default 120000, as Linux. */
  discoveryKato?: number;
  /** Smallest KATO: a host's non-zero KATO below it is raised to it, ms. Default 0. */
  minKato?: number;
  /**
   * Deadline of a new connection, ms: its ICReq must come within this time of the TCP accept,
   * and its Connect within this time of the ICResp (the Connect answered, its data included),
   * else it is closed. Default 5000.
   */
  connectTimeout?: number;
  /** Transport connections held at once, in all stages (before ICReq too); 0 for no limit. Default 16384. */
  maxConnections?: number;
  /** Transport connections held at once from one remote address; 0 for no limit. Default 0. */
  maxConnectionsPerAddress?: number;
  /** Controllers one subsystem (or the discovery service) may have at once. Default 65519, every CNTLID. */
  maxControllersPerSubsystem?: number;
  /**
   * Time the host has to send a write's data after an R2T, ms, when its controller has no
   * KATO (else the KATO is the deadline). The command then fails with Transient Transport
   * Error and its queue pair is closed, freeing its buffers. Default 30000.
   */
  dataTimeout?: number;
  /** Association parameters of every port (a port's own override them). */
  associationParams?: Partial<AssociationParams>;
  /**
   * DH-HMAC-CHAP hashes and DH groups allowed for hosts whose own are not configured (SPDK's
   * `nvmf_set_config`); see {@linkcode DhchapPolicy}. Default: none (Linux's defaults).
   */
  dhchapPolicy?: DhchapPolicy;
}

/** A controller in the target's events. */
export interface ControllerEvent {
  /** Controller ID. */
  cntlid: number;
  /** Subsystem NQN (the discovery NQN for a discovery controller). */
  subnqn: string;
  /** Host NQN. */
  hostnqn: string;
  /** Port it came through. */
  portid: number;
}

/** A Connect the target refused. */
export interface ConnectRejectedEvent {
  /** Port it came through. */
  portid: number;
  /** Queue ID asked for (0 for the admin queue; undefined when it was not a Connect). */
  qid: number | undefined;
  /** Subsystem NQN asked for, when the Connect data was read. */
  subnqn: string | undefined;
  /** Host NQN, when the Connect data was read. */
  hostnqn: string | undefined;
  /** The status sent (CQE status field). */
  status: number;
  /** Why, for a person. */
  reason: string;
}

/** A live controller in detail ({@linkcode Target.controllerDetails}). */
export interface ControllerDetails extends ControllerEvent {
  /** Host identifier, 32 hex digits. */
  hostid: string;
  /** Keep alive timeout, ms (0: none). */
  kato: number;
  /** The I/O queue IDs connected. */
  ioQueues: number[];
  /** The address of the port it came through (undefined once the port closed). */
  address: TransportAddress | undefined;
  /** The name of the port's transport. */
  transport: string;
}

/** A transport made with {@linkcode Target.createTransport}. */
export interface TransportInfo {
  /** The transport's name (`"tcp"`). */
  name: string;
  /** Its TRTYPE. */
  trtype: number;
  /** The options given. */
  options: TransportOptions;
}

/** Counters of a target ({@linkcode Target.stats}). */
export interface TargetStats {
  /** Admin queue pairs connected since the target started. */
  adminQpairs: number;
  /** I/O queue pairs connected since the target started. */
  ioQpairs: number;
  /** Admin queue pairs connected now (one per controller). */
  currentAdminQpairs: number;
  /** I/O queue pairs connected now. */
  currentIoQpairs: number;
  /** I/O commands completed, over every namespace. */
  completedIo: number;
}

/** Something went wrong that did not concern one command's host. */
export interface TargetErrorEvent {
  /** What failed. */
  error: unknown;
  /** Where, for a person. */
  message: string;
}

/** The events of a {@linkcode Target}, by name. */
export interface TargetEvents {
  /** An admin queue Connect created a controller. */
  "controller-created": ControllerEvent;
  /** A controller was torn down (admin queue closed, keep alive expired, port or target closed). */
  "controller-destroyed": ControllerEvent & { reason: string };
  /** A Connect was refused. */
  "connect-rejected": ConnectRejectedEvent;
  /** An error worth logging. */
  "error": TargetErrorEvent;
  /** Something a host did that is accepted but worth logging once, e.g. a changing HOSTID. */
  "notice": { message: string };
}

const DEFAULTS = {
  serialPrefix: "",
  model: "nvmf",
  firmware: "0.1.0",
  maxQueues: 128,
  maxNamespaces: 1024,
  maxTransferSize: 1 << 20,
  discoveryKato: 120_000,
  minKato: 0,
  connectTimeout: 5_000,
  maxConnections: 16_384,
  maxConnectionsPerAddress: 0,
  maxControllersPerSubsystem: CNTLID_MAX,
  dataTimeout: 30_000,
} as const;

/** The Connect fields a rejection names (those decoded so far). */
interface ConnectAttempt {
  qid: number | undefined;
  subnqn: string | undefined;
  hostnqn: string | undefined;
}

interface PortState {
  readonly port: Port;
  readonly listener: Listener;
  readonly association: Association;
  readonly maxQueues: number;
  readonly maxTransferSize: number;
  readonly subsystems: ReadonlySet<string> | undefined;
  /** Queue pairs not yet connected, with their Connect timer while it runs. */
  readonly pending: Map<QueuePair, ReturnType<typeof setTimeout> | undefined>;
  closing: boolean;
  accepting: Promise<void>;
}

function positiveInteger(value: number, field: string, min = 1, max = Number.MAX_SAFE_INTEGER) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Cannot use ${field} ${value}: it must be an integer ${min} to ${max}`);
  }
  return value;
}

/**
 * An NVMe over Fabrics target: subsystems with namespaces, served on ports, with a discovery
 * controller on every port.
 *
 * @example Serving a RAM namespace over the loopback transport
 * ```ts
 * import { RamBackend, Target } from "@nvmf/controller";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * const sub = target.addSubsystem({
 *   nqn: "nqn.2026-01.dev.nvmf:target-doc",
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 30n, blockSize: 512 }) }],
 * });
 * const port = await target.listen("loopback", { traddr: "target-doc" });
 * assert.equal(port.address.traddr, "target-doc");
 * assert.equal(sub.namespaces.length, 1);
 * await target.close();
 * ```
 */
export class Target {
  readonly #options: Required<Omit<TargetOptions, "associationParams" | "dhchapPolicy">>;
  readonly #associationParams: Partial<AssociationParams>;
  readonly #subsystems = new Map<string, Subsystem>();
  readonly #controllers = new Map<string, Map<number, Controller>>();
  readonly #ports = new Map<number, PortState>();
  readonly #listeners = new Map<string, Set<(event: never) => void>>();
  readonly #discoverySerial: string;
  readonly #subsystemListener: SubsystemListener;
  readonly #hooks: ControllerHooks;
  readonly #transports = new Map<string, TransportInfo>();
  #adminQpairs = 0;
  #ioQpairs = 0;
  /** Controllers whose I/O queue Connect came with another HOSTID (noticed once each). */
  readonly #hostidNoticed = new WeakSet<Controller>();
  readonly #limits: ConnectionLimits;
  #genctr = 0n;
  /**
   * Named block devices (SPDK's bdevs) that namespaces can be made from; one in use by a
   * namespace cannot be deleted. The target closes them when it closes.
   */
  readonly bdevs: BdevRegistry;
  #closing: Promise<void> | undefined;
  #dhchapPolicy: { given: DhchapPolicy; parsed: ParsedDhchapPolicy } | undefined;

  /**
   * Makes an empty target.
   *
   * @param options Defaults and limits.
   * @throws {RangeError} When an option is out of range.
   */
  constructor(options: TargetOptions = {}) {
    const o = { ...DEFAULTS, ...options };
    positiveInteger(o.maxQueues, "maxQueues", 1, 65535);
    positiveInteger(o.maxNamespaces, "maxNamespaces", 1, 0xfffffffe);
    positiveInteger(o.maxTransferSize, "maxTransferSize", 4096, 2 ** 31);
    if ((o.maxTransferSize & (o.maxTransferSize - 1)) !== 0) {
      throw new RangeError(
        `Cannot use maxTransferSize ${o.maxTransferSize}: it must be a power of two`,
      );
    }
    positiveInteger(o.discoveryKato, "discoveryKato", 0, 0xffffffff);
    positiveInteger(o.minKato, "minKato", 0, 0xffffffff);
    positiveInteger(o.connectTimeout, "connectTimeout", 1);
    positiveInteger(o.maxConnections, "maxConnections", 0);
    positiveInteger(o.maxConnectionsPerAddress, "maxConnectionsPerAddress", 0);
    positiveInteger(
      o.maxControllersPerSubsystem,
      "maxControllersPerSubsystem",
      1,
      CNTLID_MAX,
    );
    positiveInteger(o.dataTimeout, "dataTimeout", 1);
    if (o.serialPrefix.length > 20) {
      throw new RangeError(`Cannot use serialPrefix "${o.serialPrefix}": it exceeds 20 characters`);
    }
    this.#options = {
      serialPrefix: o.serialPrefix,
      model: o.model,
      firmware: o.firmware,
      maxQueues: o.maxQueues,
      maxNamespaces: o.maxNamespaces,
      maxTransferSize: o.maxTransferSize,
      discoveryKato: o.discoveryKato,
      minKato: o.minKato,
      connectTimeout: o.connectTimeout,
      maxConnections: o.maxConnections,
      maxConnectionsPerAddress: o.maxConnectionsPerAddress,
      maxControllersPerSubsystem: o.maxControllersPerSubsystem,
      dataTimeout: o.dataTimeout,
    };
    this.#limits = new ConnectionLimits(o.maxConnections, o.maxConnectionsPerAddress);
    if (options.dhchapPolicy !== undefined) this.setDhchapPolicy(options.dhchapPolicy);
    // Linux's nvmet lets hosts disable SQ flow control; so do we unless told otherwise.
    this.#associationParams = { sqFlowControl: false, ...options.associationParams };
    this.#discoverySerial = this.#newSerial();
    this.#subsystemListener = {
      namespaceChanged: (sub, nsid) => {
        for (const ctrl of this.#controllers.get(sub.nqn)?.values() ?? []) {
          ctrl.namespaceChanged(nsid);
        }
      },
      hostsChanged: () => this.#configChanged(),
    };
    this.bdevs = new BdevRegistry((backend) => {
      for (const sub of this.#subsystems.values()) {
        const ns = sub.namespaces.find((n) => n.backend === backend);
        if (ns !== undefined) return `${ns.nsid} of ${sub.nqn}`;
      }
      return undefined;
    });
    this.#hooks = {
      discoveryLog: (ctrl) => this.#discoveryLog(ctrl),
      destroyed: (ctrl, reason) => {
        const map = this.#controllers.get(ctrl.subnqn);
        if (map?.get(ctrl.cntlid) === ctrl) map.delete(ctrl.cntlid);
        this.#emit("controller-destroyed", { ...this.#describe(ctrl), reason });
      },
      error: (error, message) => this.#emit("error", { error, message }),
    };
  }

  /** The discovery log generation counter; it changes whenever the configuration does. */
  get genctr(): bigint {
    return this.#genctr;
  }

  /** The subsystems, in the order they were added. */
  get subsystems(): Subsystem[] {
    return [...this.#subsystems.values()];
  }

  /** The open ports, by port ID. */
  get ports(): Port[] {
    return [...this.#ports.values()].sort((a, b) => a.port.portid - b.port.portid).map((p) =>
      p.port
    );
  }

  /** Transport connections held now (every stage), and those refused over a limit so far. */
  get connections(): { held: number; refused: number } {
    return { held: this.#limits.total, refused: this.#limits.refused };
  }

  /** The live controllers. */
  get controllers(): ControllerEvent[] {
    const list: ControllerEvent[] = [];
    for (const map of this.#controllers.values()) {
      for (const ctrl of map.values()) list.push(this.#describe(ctrl));
    }
    return list;
  }

  /**
   * The subsystem with an NQN.
   *
   * @param nqn The NQN.
   * @returns It, or undefined.
   */
  subsystem(nqn: string): Subsystem | undefined {
    return this.#subsystems.get(nqn);
  }

  /**
   * Adds a subsystem (with its namespaces); the discovery log changes.
   *
   * @param options NQN, identity, hosts, namespaces.
   * @returns The subsystem.
   * @throws {RangeError} When the NQN is taken or a field is malformed.
   */
  addSubsystem(options: SubsystemOptions): Subsystem {
    this.#checkOpen("add a subsystem");
    if (this.#subsystems.has(options.nqn)) {
      throw new RangeError(`Cannot add subsystem ${options.nqn}: the NQN is taken`);
    }
    const sub = new Subsystem(options, {
      serial: this.#newSerial(),
      model: this.#options.model,
      firmware: this.#options.firmware,
      maxNamespaces: this.#options.maxNamespaces,
    }, this.#subsystemListener);
    this.#subsystems.set(sub.nqn, sub);
    this.#configChanged();
    return sub;
  }

  /**
   * Removes a subsystem and tears down its controllers; the discovery log changes. Its
   * namespaces' backends are not closed.
   *
   * @param nqn The NQN.
   * @returns The removed subsystem, or undefined when there was none.
   */
  async removeSubsystem(nqn: string): Promise<Subsystem | undefined> {
    const sub = this.#subsystems.get(nqn);
    if (sub === undefined) return undefined;
    this.#subsystems.delete(nqn);
    this.#configChanged();
    await Promise.all(
      [...this.#controllers.get(nqn)?.values() ?? []].map((c) => c.destroy("subsystem removed")),
    );
    return sub;
  }

  /**
   * Listens on a transport; queue pairs accepted there may connect to the subsystems this
   * port serves and to the discovery controller.
   *
   * @param transport A registered transport's name or TRTYPE (`"tcp"`, `"loopback"`), or one.
   * @param address Where to listen (for TCP `trsvcid` is the port; `"0"` picks a free one).
   * @param options Subsystems served, association parameters.
   * @returns The port.
   * @throws {RangeError} When the transport is not registered or the port ID is taken.
   */
  async listen(
    transport: string | number | Transport,
    address: TransportAddress,
    options: ListenOptions = {},
  ): Promise<Port> {
    this.#checkOpen("listen");
    const t = typeof transport === "object" ? transport : getTransport(transport);
    if (options.portid !== undefined) {
      positiveInteger(options.portid, "portid", 1, 65535);
      if (this.#ports.has(options.portid)) {
        throw new RangeError(`Cannot listen as port ${options.portid}: the port ID is taken`);
      }
    }
    const association = new Association(t, true, {
      ...this.#associationParams,
      ...options.associationParams,
      tcp: { ...this.#associationParams.tcp, ...options.associationParams?.tcp } as never,
    });
    const listener = options.accept === false
      ? new NoListener(address)
      : await t.listen(association, address, {
        admit: (remote) => this.#limits.admit(remote),
        setupTimeout: this.#options.connectTimeout,
      });
    if (options.maxTransferSize !== undefined || options.maxQueues !== undefined) {
      portSettings({ maxIoSize: options.maxTransferSize, maxIoQpairsPerCtrlr: options.maxQueues });
    }
    let portid = options.portid ?? 1;
    while (this.#ports.has(portid)) portid++;
    const subsystems = options.subsystems === undefined ? undefined : [...options.subsystems];
    const holder: { state?: PortState } = {};
    const port = new Port(
      portid,
      association,
      listener,
      subsystems,
      () => this.#closePort(holder.state!),
    );
    const state: PortState = {
      port,
      listener,
      association,
      maxQueues: options.maxQueues ?? this.#options.maxQueues,
      maxTransferSize: options.maxTransferSize ?? this.#options.maxTransferSize,
      subsystems: subsystems === undefined ? undefined : new Set(subsystems),
      pending: new Map(),
      closing: false,
      accepting: Promise.resolve(),
    };
    holder.state = state;
    this.#ports.set(portid, state);
    state.accepting = this.#acceptLoop(state);
    this.#configChanged();
    return port;
  }

  /**
   * Makes a transport available to listeners with options (SPDK's `nvmf_create_transport`):
   * the ports {@linkcode Target.addListener} opens on it from then on use them.
   *
   * @param transport A registered transport's name or TRTYPE.
   * @param options In-capsule data size, queue depth, I/O size, I/O queues per controller.
   * @returns The transport's record.
   * @throws {RangeError} When the transport is not registered, was made already, or an option
   *   is out of range.
   * @example Usage
   * ```ts
   * import { Target } from "@nvmf/controller";
   * import "@nvmf/transport-loopback";
   * import assert from "node:assert/strict";
   * const target = new Target();
   * target.createTransport("loopback", { inCapsuleDataSize: 8192 });
   * assert.deepEqual(target.transports.map((t) => t.name), ["loopback"]);
   * await target.close();
   * ```
   */
  createTransport(transport: string | number, options: TransportOptions = {}): TransportInfo {
    this.#checkOpen("create a transport");
    const t = getTransport(transport);
    if (this.#transports.has(t.name)) {
      throw new RangeError(`Cannot create transport ${t.name}: it exists already`);
    }
    portSettings(options);
    const info: TransportInfo = { name: t.name, trtype: t.trtype, options: { ...options } };
    this.#transports.set(t.name, info);
    return info;
  }

  /** The transports made with {@linkcode Target.createTransport}. */
  get transports(): TransportInfo[] {
    return [...this.#transports.values()].map((t) => ({ ...t, options: { ...t.options } }));
  }

  /**
   * Serves a subsystem on a transport address (SPDK's `nvmf_subsystem_add_listener`): on the
   * port already listening there, or on a new port serving only it. The discovery log changes
   * and persistent discovery controllers get a Discovery Log Page Change event. The discovery
   * NQN opens a port that serves only discovery.
   *
   * @param nqn The subsystem NQN (or the discovery NQN).
   * @param transport A registered transport's name or TRTYPE.
   * @param address Where (for TCP `trsvcid` is the port).
   * @returns The port.
   * @throws {RangeError} When there is no such subsystem, it is served there already, or the
   *   transport is unknown; nothing changed then.
   * @example Usage
   * ```ts
   * import { Target } from "@nvmf/controller";
   * import "@nvmf/transport-loopback";
   * import assert from "node:assert/strict";
   * const target = new Target();
   * target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:listener-doc" });
   * const port = await target.addListener("nqn.2026-01.dev.nvmf:listener-doc", "loopback", { traddr: "listener-doc" });
   * assert.deepEqual(port.subsystems, ["nqn.2026-01.dev.nvmf:listener-doc"]);
   * await target.removeListener("nqn.2026-01.dev.nvmf:listener-doc", "loopback", { traddr: "listener-doc" });
   * assert.equal(target.ports.length, 0);
   * await target.close();
   * ```
   */
  async addListener(
    nqn: string,
    transport: string | number,
    address: TransportAddress,
  ): Promise<Port> {
    this.#checkOpen("add a listener");
    const discovery = nqn === DISCOVERY_NQN;
    if (!discovery && !this.#subsystems.has(nqn)) {
      throw new RangeError(`Cannot add a listener to ${nqn}: no such subsystem`);
    }
    const t = getTransport(transport);
    const state = this.#portAt(t, address);
    if (state !== undefined) {
      const port = state.port;
      if (discovery || port.exposes(nqn)) {
        throw new RangeError(
          `Cannot add a listener to ${nqn}: it is served on ${t.name} ${address.traddr}:${
            address.trsvcid ?? ""
          } already`,
        );
      }
      setPortSubsystems(port, [...port.subsystems!, nqn]);
      this.#configChanged();
      return port;
    }
    const settings = portSettings(this.#transports.get(t.name)?.options ?? {});
    return await this.listen(t, address, {
      subsystems: discovery ? [] : [nqn],
      associationParams: settings.associationParams,
      maxTransferSize: settings.maxTransferSize,
      maxQueues: settings.maxQueues,
    });
  }

  /**
   * Stops serving a subsystem on a transport address (SPDK's
   * `nvmf_subsystem_remove_listener`): its controllers that came through that port are torn
   * down (their queue pairs closed); a port left serving nothing closes. The discovery log
   * changes and persistent discovery controllers get a Discovery Log Page Change event.
   *
   * @param nqn The subsystem NQN (the discovery NQN closes the port).
   * @param transport A registered transport's name or TRTYPE.
   * @param address The listener's address.
   * @returns Settles when the controllers are torn down.
   * @throws {RangeError} When the subsystem is not served there; nothing changed then.
   */
  async removeListener(
    nqn: string,
    transport: string | number,
    address: TransportAddress,
  ): Promise<void> {
    this.#checkOpen("remove a listener");
    const t = getTransport(transport);
    const state = this.#portAt(t, address);
    const discovery = nqn === DISCOVERY_NQN;
    if (state === undefined || (!discovery && !state.port.exposes(nqn))) {
      throw new RangeError(
        `Cannot remove the listener of ${nqn} on ${t.name} ${address.traddr}:${
          address.trsvcid ?? ""
        }: there is none`,
      );
    }
    const port = state.port;
    const rest = discovery
      ? []
      : (port.subsystems ?? [...this.#subsystems.keys()]).filter((n) => n !== nqn);
    if (rest.length === 0) return await port.close();
    setPortSubsystems(port, rest);
    this.#configChanged();
    await Promise.all(
      [...this.#controllers.get(nqn)?.values() ?? []].filter((c) => c.portid === port.portid)
        .map((c) => c.destroy("listener removed")),
    );
  }

  /**
   * Withdraws a host's permission to connect to a subsystem and tears down its controllers
   * there (SPDK's `nvmf_subsystem_remove_host`). With `allowAnyHost` the host may connect
   * again.
   *
   * @param nqn The subsystem NQN.
   * @param hostnqn The host NQN.
   * @returns Settles when its controllers are torn down.
   * @throws {RangeError} When there is no such subsystem or the host was not allowed.
   */
  async removeHost(nqn: string, hostnqn: string): Promise<void> {
    const sub = this.#subsystems.get(nqn);
    if (sub === undefined) {
      throw new RangeError(`Cannot remove a host from ${nqn}: no such subsystem`);
    }
    if (!sub.disallowHost(hostnqn)) {
      throw new RangeError(`Cannot remove host ${hostnqn} from ${nqn}: it is not allowed there`);
    }
    await Promise.all(
      [...this.#controllers.get(nqn)?.values() ?? []].filter((c) => c.hostnqn === hostnqn)
        .map((c) => c.destroy("host removed")),
    );
  }

  /**
   * The live controllers in detail: queues, keep alive, where they came from.
   *
   * @param nqn Only those of this subsystem (the discovery NQN for discovery controllers).
   * @returns The controllers.
   */
  controllerDetails(nqn?: string): ControllerDetails[] {
    const list: ControllerDetails[] = [];
    for (const [subnqn, map] of this.#controllers) {
      if (nqn !== undefined && subnqn !== nqn) continue;
      for (const ctrl of map.values()) {
        if (ctrl.destroyed) continue;
        const port = this.#ports.get(ctrl.portid)?.port;
        list.push({
          ...this.#describe(ctrl),
          hostid: Array.from(ctrl.hostid, (b) => b.toString(16).padStart(2, "0")).join(""),
          kato: ctrl.kato,
          ioQueues: ctrl.ioQueues,
          address: port?.address,
          transport: port?.transport.name ?? "",
        });
      }
    }
    return list;
  }

  /**
   * The target's counters: queue pairs connected, now and since the start; I/O completed.
   *
   * @returns A snapshot.
   */
  stats(): TargetStats {
    let currentAdminQpairs = 0;
    let currentIoQpairs = 0;
    for (const map of this.#controllers.values()) {
      for (const ctrl of map.values()) {
        if (ctrl.destroyed) continue;
        currentAdminQpairs++;
        currentIoQpairs += ctrl.ioQueues.length;
      }
    }
    let completedIo = 0;
    for (const sub of this.#subsystems.values()) {
      for (const m of [sub.metrics, ...sub.namespaces.map((n) => n.metrics)]) {
        completedIo += m.latencyCount;
      }
    }
    return {
      adminQpairs: this.#adminQpairs,
      ioQpairs: this.#ioQpairs,
      currentAdminQpairs,
      currentIoQpairs,
      completedIo,
    };
  }

  #portAt(transport: Transport, address: TransportAddress): PortState | undefined {
    for (const state of this.#ports.values()) {
      if (!state.closing && listensOn(state.port, transport, address)) return state;
    }
    return undefined;
  }

  /**
   * Sets the DH-HMAC-CHAP hashes and DH groups allowed for hosts whose own are not configured,
   * as SPDK's `nvmf_set_config` (`dhchap_digests`, `dhchap_dhgroups`): such a host gets the
   * strongest allowed that it offers. Controllers made from now on use it; `undefined` goes back
   * to Linux's defaults (`hmac(sha256)`, `null`).
   *
   * @param policy The allowed hashes and groups (a list left out allows all).
   * @throws {RangeError} Naming a hash or group it does not know, or an empty list.
   * @example Usage
   * ```ts
   * import { Target } from "@nvmf/controller";
   * import assert from "node:assert/strict";
   * const target = new Target();
   * target.setDhchapPolicy({ digests: ["sha384", "sha512"], dhgroups: ["ffdhe2048"] });
   * assert.deepEqual(target.dhchapPolicy?.dhgroups, ["ffdhe2048"]);
   * assert.throws(() => target.setDhchapPolicy({ digests: ["md5"] }), RangeError);
   * await target.close();
   * ```
   */
  setDhchapPolicy(policy: DhchapPolicy | undefined): void {
    if (policy === undefined) {
      this.#dhchapPolicy = undefined;
      return;
    }
    const parsed = parseDhchapPolicy(policy);
    this.#dhchapPolicy = {
      given: {
        ...(policy.digests !== undefined ? { digests: [...policy.digests] } : {}),
        ...(policy.dhgroups !== undefined ? { dhgroups: [...policy.dhgroups] } : {}),
      },
      parsed,
    };
  }

  /** The policy {@linkcode Target.setDhchapPolicy} set, as given; undefined when none. */
  get dhchapPolicy(): DhchapPolicy | undefined {
    return this.#dhchapPolicy?.given;
  }

  /**
   * Sets the ANA state of a subsystem's groups on a port, as SPDK's
   * `nvmf_subsystem_listener_set_ana_state`: one group, or every group of the subsystem. Each
   * controller of the subsystem on that port whose state changed gets an ANA change event
   * (when it enabled them), and its I/O to the groups' namespaces is served or failed with a
   * path status from now on.
   *
   * @param params The subsystem, the port's address, the state and the group.
   * @throws {RangeError} When the subsystem, the port, the group or the state is unknown.
   * @example Usage
   * ```ts
   * import { RamBackend, Target } from "@nvmf/controller";
   * import "@nvmf/transport-loopback";
   * import assert from "node:assert/strict";
   * const target = new Target();
   * const nqn = "nqn.2026-01.dev.nvmf:ana-doc";
   * const sub = target.addSubsystem({
   *   nqn,
   *   namespaces: [{ backend: new RamBackend({ size: 1 << 20 }) }],
   * });
   * const port = await target.listen("loopback", { traddr: "ana-doc" });
   * target.setAnaState({ nqn, address: { traddr: "ana-doc" }, state: "inaccessible" });
   * assert.equal(sub.ana.states(port.portid)[1], 3);
   * await target.close();
   * ```
   */
  setAnaState(params: SetAnaStateParams): void {
    const { nqn, address } = params;
    const sub = this.#subsystems.get(nqn);
    if (sub === undefined) throw new RangeError(`Cannot set the ANA state: no subsystem ${nqn}`);
    const state = anaStateValue(params.state);
    const ports = [...this.#ports.values()].filter((p) =>
      !p.closing && p.port.exposes(nqn) && p.port.address.traddr === address.traddr &&
      (address.trsvcid === undefined || p.port.address.trsvcid === address.trsvcid)
    );
    if (ports.length === 0) {
      throw new RangeError(
        `Cannot set the ANA state: no port at ${address.traddr}${
          address.trsvcid === undefined ? "" : `:${address.trsvcid}`
        } serves ${nqn}`,
      );
    }
    const groups = params.anagrpid === undefined
      ? sub.ana.groups(sub.namespaces.map((ns) => ns.anagrpid))
      : [checkAnaGroup(params.anagrpid)];
    for (const { port } of ports) {
      let changed = false;
      for (const grpid of groups) changed = sub.ana.set(port.portid, grpid, state) || changed;
      if (!changed) continue;
      for (const ctrl of this.#controllers.get(nqn)?.values() ?? []) {
        if (ctrl.portid === port.portid) ctrl.anaChanged();
      }
    }
  }

  /**
   * Subscribes to an event.
   *
   * @param event The event name.
   * @param listener Called with the event; exceptions it throws are ignored.
   * @returns A function that unsubscribes.
   * @example Usage
   * ```ts
   * import { Target } from "@nvmf/controller";
   * import assert from "node:assert/strict";
   * const target = new Target();
   * const seen: string[] = [];
   * const off = target.on("error", (e) => seen.push(e.message));
   * off();
   * assert.deepEqual(seen, []);
   * await target.close();
   * ```
   */
  on<K extends keyof TargetEvents>(
    event: K,
    listener: (event: TargetEvents[K]) => void,
  ): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    const fn = listener as (event: never) => void;
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  /**
   * Closes every port (no new connections), tears down every controller — commands in progress
   * get up to 2 s to complete, then every queue pair is closed — flushes and closes every
   * namespace backend. Idempotent.
   *
   * @returns Settles when everything is released.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await Promise.all([...this.#ports.values()].map((p) => this.#closePort(p)));
    const all: Controller[] = [];
    for (const map of this.#controllers.values()) all.push(...map.values());
    await Promise.all(all.map((c) => c.destroy("target closed")));
    for (const sub of this.#subsystems.values()) {
      for (const ns of sub.namespaces) {
        try {
          // What the hosts wrote reaches stable storage before the backend is let go.
          if (!ns.readOnly) await ns.backend.flush();
          await ns.backend.close?.();
        } catch (e) {
          this.#emit("error", {
            error: e,
            message: `Cannot close namespace ${ns.nsid} of ${sub.nqn}`,
          });
        }
      }
    }
    await this.bdevs.close();
  }

  #checkOpen(what: string): void {
    if (this.#closing !== undefined) throw new TypeError(`Cannot ${what}: the target is closed`);
  }

  #newSerial(): string {
    const prefix = this.#options?.serialPrefix ?? "";
    return prefix + randomHex(20 - prefix.length);
  }

  #emit<K extends keyof TargetEvents>(event: K, value: TargetEvents[K]): void {
    for (const fn of this.#listeners.get(event) ?? []) {
      try {
        (fn as (event: TargetEvents[K]) => void)(value);
      } catch {
        // A listener's failure is not the target's.
      }
    }
  }

  #describe(ctrl: Controller): ControllerEvent {
    return {
      cntlid: ctrl.cntlid,
      subnqn: ctrl.subnqn,
      hostnqn: ctrl.hostnqn,
      portid: ctrl.portid,
    };
  }

  #configChanged(): void {
    this.#genctr++;
    for (const ctrl of this.#controllers.get(DISCOVERY_NQN)?.values() ?? []) {
      ctrl.discoveryChanged();
    }
  }

  async #closePort(state: PortState): Promise<void> {
    if (state.closing) return await state.accepting;
    state.closing = true;
    try {
      await state.listener.close();
    } catch (e) {
      this.#emit("error", { error: e, message: `Cannot close port ${state.port.portid}` });
    }
    for (const [qp, timer] of state.pending) {
      if (timer !== undefined) clearTimeout(timer);
      await qp.close().catch(() => {});
    }
    state.pending.clear();
    await state.accepting;
    const portid = state.port.portid;
    const doomed: Controller[] = [];
    for (const map of this.#controllers.values()) {
      for (const ctrl of map.values()) if (ctrl.portid === portid) doomed.push(ctrl);
    }
    await Promise.all(doomed.map((c) => c.destroy("port closed")));
    for (const sub of this.#subsystems.values()) sub.ana.forgetPort(portid);
    this.#ports.delete(portid);
    if (this.#closing === undefined) this.#configChanged();
  }

  async #acceptLoop(state: PortState): Promise<void> {
    let failures = 0;
    for (;;) {
      let qp: QueuePair;
      try {
        qp = await state.listener.accept();
        failures = 0;
      } catch (e) {
        if (state.closing || e instanceof QueuePairClosedError || ++failures > 100) break;
        this.#emit("error", { error: e, message: `Cannot accept on port ${state.port.portid}` });
        continue;
      }
      if (state.closing) {
        await qp.close().catch(() => {});
        break;
      }
      void this.#handshake(state, qp);
    }
  }

  /** Waits for an accepted queue pair's first capsule, which must be a Connect. */
  async #handshake(state: PortState, qp: QueuePair): Promise<void> {
    const timer = setTimeout(() => {
      if (!state.pending.has(qp)) return; // connected meanwhile: the controller owns it
      state.pending.delete(qp);
      this.#emit("error", {
        error: new Error("Connect timed out"),
        message:
          `Cannot accept a queue pair on port ${state.port.portid}: no Connect within ${this.#options.connectTimeout} ms`,
      });
      void qp.close().catch(() => {});
    }, this.#options.connectTimeout);
    state.pending.set(qp, timer);
    let capsule;
    try {
      capsule = await qp.receive();
    } catch {
      clearTimeout(timer);
      state.pending.delete(qp);
      return;
    }
    if (!state.pending.has(qp)) return; // the port or the deadline closed it meanwhile
    // The deadline runs on until the Connect is answered: its data may come after an R2T.
    try {
      if (state.closing || capsule.kind !== "command") await qp.close();
      else await this.#connect(state, qp, capsule);
    } catch (e) {
      this.#emit("error", {
        error: e,
        message: `Cannot handle a Connect on port ${state.port.portid}`,
      });
      await qp.close().catch(() => {});
    } finally {
      clearTimeout(timer);
      state.pending.delete(qp);
    }
  }

  /** Answers a Connect with an error and closes the queue pair. */
  async #reject(
    state: PortState,
    qp: QueuePair,
    sqe: Uint8Array,
    rejection: ConnectRejection,
  ): Promise<void> {
    const qid = rejection.qid;
    // The queue pair needs a size for its SQ head accounting, even for this one response.
    qp.setConnected({ qid: qid ?? 0, qsize: 2, sqFlowControl: true });
    const { status, reason, ipo } = rejection;
    const cqe = encodeCqe({
      cid: cidOf(sqe),
      status,
      dw0: ipo === undefined ? 0 : connectInvalidParameterDw0(ipo.data, ipo.offset),
    });
    try {
      await qp.transmit({ kind: "response", cqe });
    } catch {
      // The host is gone already.
    }
    const attempt: ConnectAttempt = {
      qid,
      subnqn: rejection.subnqn,
      hostnqn: rejection.hostnqn,
    };
    this.#emit("connect-rejected", { portid: state.port.portid, ...attempt, status, reason });
    await qp.close().catch(() => {});
  }

  /**
   * Serves a queue pair accepted and set up elsewhere, whose Connect command and data were
   * read there and not answered — a handoff, as FreeBSD's `nvmf_handoff_controller_qpair()`
   * passes one to the kernel target, which answers the Connect. The Connect goes through the
   * same checks as on a port's own queue pairs: an admin queue Connect creates a controller, an
   * I/O queue Connect joins one; a refusal is answered and closes the queue pair. The queue pair
   * must belong to the association of a port of this target (for a TCP queue pair: made with
   * `port.association`); `@nvmf/handoff`'s `adoptControllerQpair()` makes one from a record.
   *
   * @param qp The controller queue pair, continuing at the SQ head the handoff recorded.
   * @param connect The 64-byte Connect command.
   * @param data The 1024 bytes of Connect data.
   * @returns Settles once the Connect is answered.
   * @throws {RangeError} When the queue pair belongs to no port of this target, or `connect` or
   * `data` has the wrong size.
   * @throws {TypeError} When the target is closed or `qp` is a host queue pair.
   */
  async adoptQueuePair(qp: QueuePair, connect: Uint8Array, data: Uint8Array): Promise<void> {
    this.#checkOpen("adopt a queue pair");
    if (!qp.controller) throw new TypeError("Cannot adopt a host queue pair");
    const state = [...this.#ports.values()].find((p) => p.association === qp.association);
    if (state === undefined || state.closing) {
      throw new RangeError(
        "Cannot adopt the queue pair: it belongs to the association of no open port of this target",
      );
    }
    if (connect.length !== SQE_SIZE || data.length !== CONNECT_DATA_SIZE) {
      throw new RangeError(
        `Cannot adopt the queue pair: the Connect is ${connect.length} bytes with ${data.length} of data, not ${SQE_SIZE} and ${CONNECT_DATA_SIZE}`,
      );
    }
    const cmd: CommandCapsule = {
      kind: "command",
      sqe: connect.slice(),
      data: undefined,
      direction: undefined,
    };
    try {
      await this.#connect(state, qp, cmd, data.slice());
    } catch (e) {
      this.#emit("error", {
        error: e,
        message: `Cannot handle an adopted Connect on port ${state.port.portid}`,
      });
      await qp.close().catch(() => {});
    }
  }

  /**
   * Handles a Connect: `given` is its data when it was read before (an adopted queue pair),
   * else it is read from `qp`. The checks are {@linkcode checkConnectCommand} and
   * {@linkcode admitConnect}; this does the I/O around them.
   */
  async #connect(
    state: PortState,
    qp: QueuePair,
    cmd: CommandCapsule,
    given?: Uint8Array,
  ): Promise<void> {
    const sqe = cmd.sqe;
    // An adopted Connect's capsule was checked where it was received.
    const valid = given === undefined ? qp.validateCommandCapsule(cmd) : GenericStatus.SUCCESS;
    if (valid !== GenericStatus.SUCCESS) {
      return this.#reject(state, qp, sqe, {
        kind: "reject",
        status: genericStatus(valid),
        reason: "the Connect capsule's SGL is invalid",
      });
    }
    const params = state.association.params;
    const command = checkConnectCommand(sqe, given?.length ?? qp.capsuleDataLength(cmd), params);
    if (command.kind === "reject") return this.#reject(state, qp, sqe, command);
    const qid = command.connect.qid;
    const bytes = given ?? new Uint8Array(CONNECT_DATA_SIZE);
    try {
      if (given === undefined) await qp.receiveControllerData(cmd, 0, bytes);
    } catch {
      await qp.close().catch(() => {});
      return;
    }
    if (state.closing) {
      await qp.close().catch(() => {});
      return;
    }
    const admission = admitConnect(command, bytes, this.#admissionState(state));
    if (admission.kind === "reject") return this.#reject(state, qp, sqe, admission);
    if (admission.kind === "admin") {
      const dhchap = admission.subsystem?.hostDhchap(admission.hostnqn);
      const ctrl = new Controller({
        cntlid: admission.cntlid,
        subsystem: admission.subsystem,
        hostnqn: admission.hostnqn,
        hostid: admission.hostid,
        kato: admission.kato,
        portid: state.port.portid,
        association: state.association,
        maxQueues: state.maxQueues,
        maxTransferSize: state.maxTransferSize,
        dataTimeout: this.#options.dataTimeout,
        identity: {
          serial: this.#discoverySerial,
          model: this.#options.model,
          firmware: this.#options.firmware,
        },
        hooks: this.#hooks,
        auth: dhchap &&
          new ControllerAuth(
            dhchap,
            admission.hostnqn,
            admission.subnqn,
            this.#dhchapPolicy?.parsed,
          ),
      });
      let controllers = this.#controllers.get(admission.subnqn);
      if (controllers === undefined) {
        controllers = new Map();
        this.#controllers.set(admission.subnqn, controllers);
      }
      controllers.set(admission.cntlid, ctrl);
      state.pending.delete(qp); // the controller owns the queue pair from here
      qp.setConnected({ qid: 0, qsize: admission.qsize, sqFlowControl: admission.sqFlowControl });
      ctrl.attachAdmin(qp);
      this.#adminQpairs++;
      this.#emit("controller-created", this.#describe(ctrl));
      await this.#accepted(qp, sqe, admission.cntlid, 0, ctrl.authRequired);
      return;
    }
    state.pending.delete(qp);
    if (admission.hostidDiffers && !this.#hostidNoticed.has(admission.controller)) {
      this.#hostidNoticed.add(admission.controller);
      this.#emit("notice", {
        message:
          `I/O queue ${qid} of controller ${admission.cntlid} (${admission.controller.hostnqn}) connected with another HOSTID than its admin queue: accepted, as Linux does`,
      });
    }
    qp.setConnected({ qid, qsize: admission.qsize, sqFlowControl: admission.sqFlowControl });
    admission.controller.attachIo(qp, qid);
    this.#ioQpairs++;
    await this.#accepted(qp, sqe, admission.cntlid, qid, admission.controller.authRequired);
  }

  #admissionState(state: PortState): AdmissionState<Controller> {
    return {
      params: state.association.params,
      portid: state.port.portid,
      exposes: (nqn) => state.port.exposes(nqn),
      subsystem: (nqn) => this.#subsystems.get(nqn),
      controllers: (nqn) => this.#controllers.get(nqn),
      discoveryKato: this.#options.discoveryKato,
      minKato: this.#options.minKato,
      maxControllers: this.#options.maxControllersPerSubsystem,
    };
  }

  async #accepted(
    qp: QueuePair,
    sqe: Uint8Array,
    cntlid: number,
    sqid: number,
    atr = false,
  ): Promise<void> {
    const cqe = new Uint8Array(CQE_SIZE);
    encodeCqe({
      cid: cidOf(sqe),
      sqid, // the queue the Connect made, as Linux's nvmet answers
      status: SUCCESS,
      dw0: connectResponseDw0(cntlid, atr ? ConnectAuthReq.ATR >>> 16 : 0),
    }, cqe);
    try {
      await qp.transmit({ kind: "response", cqe });
    } catch {
      // The serving loop notices the closed queue pair.
    }
  }

  /** The discovery log page a discovery controller's host gets (Fabrics 5.3). */
  #discoveryLog(ctrl: Controller): Uint8Array {
    const ports = [...this.#ports.values()].map((p) => p.port);
    const own = this.#ports.get(ctrl.portid)?.port;
    return discoveryLog(
      this.#genctr,
      own,
      ports,
      this.#subsystems.values(),
      ctrl.hostnqn,
      ctrl.localAddress,
    );
  }
}
