/**
 * Connect admission (NVMe over Fabrics 1.1, 3.3), as pure functions over the Connect command,
 * its data and the target's state: which controller to create or join, or the status (with
 * IATTR and IPO for CONNECT_INVALID_PARAMETERS) to refuse with. The checks and their order are
 * FreeBSD's `nvmf_accept` / `nvmf_controller.c` and Linux's `nvmet_parse_connect_cmd` /
 * `nvmet_execute_admin_connect`, with the statuses Linux's host expects, except one: a host
 * that is not allowed on a subsystem gets the answer for an unknown subsystem, not Linux's
 * CONNECT_INVALID_HOST. The target does the I/O around them. Private to the package.
 *
 * @module
 */

import {
  CNTLID_DYNAMIC,
  CNTLID_MAX,
  CNTLID_STATIC_ANY,
  type Connect,
  CONNECT_DATA_CNTLID,
  CONNECT_DATA_HOSTID,
  CONNECT_DATA_HOSTNQN,
  CONNECT_DATA_SIZE,
  CONNECT_DATA_SUBNQN,
  CONNECT_QID,
  CONNECT_RECORD_FORMAT,
  CONNECT_SQSIZE,
  ConnectAttributes,
  decodeConnect,
  decodeConnectData,
  DISCOVERY_NQN,
  FABRICS_OPCODE,
  FabricsType,
  fabricsType,
  NQN_MAX_LENGTH,
  ProtocolFieldError,
  SQE_OPCODE,
} from "@nvmf/proto";
import type { AssociationParams } from "@nvmf/transport";
import { sameBytes } from "./_bytes.ts";
import {
  CONTROLLER_BUSY,
  INCOMPATIBLE_FORMAT,
  INVALID_OPCODE,
  INVALID_PARAMETERS,
  SEQUENCE_ERROR,
  SGL_LENGTH_INVALID,
} from "./_status.ts";
import type { IoQueueCheck } from "./controller.ts";
import type { Subsystem } from "./subsystem.ts";

/** Lowest controller ID handed out, as Linux's NVME_CNTLID_MIN. */
export const CNTLID_MIN = 1;

/** Where the invalid parameter is: IATTR bit 0 (in the Connect data) and IPO. */
export interface InvalidParameter {
  /** True when the field is in the Connect data, false when in the SQE. */
  data: boolean;
  /** Byte offset of the field. */
  offset: number;
}

/** A refused Connect. */
export interface ConnectRejection {
  kind: "reject";
  /** The CQE status. */
  status: number;
  /** Why, for a person. */
  reason: string;
  /** IATTR and IPO (CONNECT_INVALID_PARAMETERS, CONNECT_INVALID_HOST). */
  ipo?: InvalidParameter;
  /** Queue ID asked for, once the command is known to be a Connect. */
  qid?: number;
  /** Subsystem NQN asked for, when the Connect data was read. */
  subnqn?: string;
  /** Host NQN, when the Connect data was read. */
  hostnqn?: string;
}

/** A Connect command that passed the checks that need no data. */
export interface ConnectCommand {
  kind: "command";
  /** The decoded command. */
  connect: Connect;
  /** Queue size: SQSIZE + 1. */
  qsize: number;
}

/** What a controller offers an I/O queue Connect. */
export interface ConnectableController {
  /** Host NQN of the admin queue's Connect. */
  readonly hostnqn: string;
  /** Host identifier of the admin queue's Connect. */
  readonly hostid: Uint8Array;
  /** True once torn down. */
  readonly destroyed: boolean;
  /** Whether an I/O queue with this ID may be connected now. */
  checkIoQueue(qid: number): IoQueueCheck;
}

/** The target's state a Connect is judged against. */
export interface AdmissionState<C extends ConnectableController> {
  /** The port's association parameters. */
  params: AssociationParams;
  /** The port's ID, for messages. */
  portid: number;
  /** Whether the port serves a subsystem. */
  exposes(subnqn: string): boolean;
  /** The subsystem with an NQN. */
  subsystem(subnqn: string): Subsystem | undefined;
  /** The live controllers of a subsystem (or of the discovery NQN), by CNTLID. */
  controllers(subnqn: string): ReadonlyMap<number, C> | undefined;
  /** KATO given to a discovery controller whose host asked for none, ms. */
  discoveryKato: number;
  /** Smallest non-zero KATO, ms. */
  minKato: number;
  /** Controllers one subsystem (or the discovery NQN) may have at once; default no limit. */
  maxControllers?: number;
}

/** An admin queue Connect accepted: a controller to create. */
export interface AdminAdmission {
  kind: "admin";
  /** The subsystem; undefined for the discovery controller. */
  subsystem: Subsystem | undefined;
  /** Its NQN (the discovery NQN for the discovery controller). */
  subnqn: string;
  /** The new controller's ID. */
  cntlid: number;
  /** Keep alive timeout, ms. */
  kato: number;
  /** Host NQN. */
  hostnqn: string;
  /** Host identifier. */
  hostid: Uint8Array;
  /** Queue size. */
  qsize: number;
  /** Whether SQ flow control stays on. */
  sqFlowControl: boolean;
}

/** An I/O queue Connect accepted: a queue of a live controller. */
export interface IoAdmission<C> {
  kind: "io";
  /** The controller it joins. */
  controller: C;
  /** Its CNTLID. */
  cntlid: number;
  /** The queue ID. */
  qid: number;
  /** Queue size. */
  qsize: number;
  /** Whether SQ flow control stays on. */
  sqFlowControl: boolean;
  /** The Connect's HOSTID is not the admin queue's (accepted, as Linux does). */
  hostidDiffers: boolean;
}

/** How a Connect fares. */
export type Admission<C> = AdminAdmission | IoAdmission<C> | ConnectRejection;

function reject(
  status: number,
  reason: string,
  ipo?: InvalidParameter,
  attempt?: { qid: number; subnqn?: string; hostnqn?: string },
): ConnectRejection {
  const r: ConnectRejection = { kind: "reject", status, reason };
  if (ipo !== undefined) r.ipo = ipo;
  if (attempt !== undefined) Object.assign(r, attempt);
  return r;
}

/**
 * The checks of a queue pair's first command that need no Connect data: it is a Connect
 * (else INVALID_COMMAND_OPCODE, as Linux's nvmet_parse_connect_cmd), of record format 0, with
 * an SQSIZE the port allows, carrying 1024 bytes of data.
 *
 * @param sqe The first command.
 * @param dataLength The length of the data the command carries.
 * @param params The port's association parameters.
 * @returns The decoded command and queue size, or the rejection.
 */
export function checkConnectCommand(
  sqe: Uint8Array,
  dataLength: number,
  params: AssociationParams,
): ConnectCommand | ConnectRejection {
  if (sqe[SQE_OPCODE] !== FABRICS_OPCODE || fabricsType(sqe) !== FabricsType.CONNECT) {
    return reject(INVALID_OPCODE, "the first command on a queue must be a Connect");
  }
  const connect = decodeConnect(sqe);
  const attempt = { qid: connect.qid };
  if (connect.recfmt !== CONNECT_RECORD_FORMAT) {
    return reject(
      INCOMPATIBLE_FORMAT,
      `record format ${connect.recfmt} is not supported`,
      undefined,
      attempt,
    );
  }
  const qsize = connect.sqsize + 1;
  const maxQsize = connect.qid === 0 ? params.maxAdminQsize : params.maxIoQsize;
  if (connect.sqsize === 0 || qsize > maxQsize) {
    return reject(INVALID_PARAMETERS, `queue size ${qsize} is not 2 to ${maxQsize}`, {
      data: false,
      offset: CONNECT_SQSIZE,
    }, attempt);
  }
  if (dataLength !== CONNECT_DATA_SIZE) {
    return reject(SGL_LENGTH_INVALID, "the Connect data is not 1024 bytes", undefined, attempt);
  }
  return { kind: "command", connect, qsize };
}

/**
 * Judges a Connect with its data against the target's state: an admin queue Connect gets a
 * controller ID (dynamic model: any free one; static model: the one asked for, or any for
 * FFFEh) and its KATO; an I/O queue Connect names a live controller of the same host NQN whose
 * queue ID is free (its HOSTID may differ from the admin queue's, as Linux allows).
 *
 * @param command The command, from {@linkcode checkConnectCommand}.
 * @param bytes The 1024 bytes of Connect data.
 * @param state The target's state.
 * @returns What to create or join, or the rejection.
 */
export function admitConnect<C extends ConnectableController>(
  command: ConnectCommand,
  bytes: Uint8Array,
  state: AdmissionState<C>,
): Admission<C> {
  const { connect: c, qsize } = command;
  const params = state.params;
  let data;
  try {
    data = decodeConnectData(bytes);
  } catch (e) {
    if (!(e instanceof ProtocolFieldError)) throw e;
    return reject(INVALID_PARAMETERS, e.message, { data: true, offset: e.offset }, {
      qid: c.qid,
    });
  }
  const names = { qid: c.qid, subnqn: data.subnqn, hostnqn: data.hostnqn };
  const refuse = (status: number, reason: string, ipo?: InvalidParameter) =>
    reject(status, reason, ipo, names);
  const inData = (offset: number) => ({ data: true, offset });
  if (data.hostid.every((b) => b === 0)) {
    return refuse(INVALID_PARAMETERS, "the host identifier is zero", inData(CONNECT_DATA_HOSTID));
  }
  for (
    const [name, value, offset] of [
      ["SUBNQN", data.subnqn, CONNECT_DATA_SUBNQN],
      ["HOSTNQN", data.hostnqn, CONNECT_DATA_HOSTNQN],
    ] as const
  ) {
    if (value.length === 0 || new TextEncoder().encode(value).length > NQN_MAX_LENGTH) {
      return refuse(INVALID_PARAMETERS, `${name} is empty or too long`, inData(offset));
    }
  }
  const discovery = data.subnqn === DISCOVERY_NQN;
  const sub = discovery ? undefined : state.subsystem(data.subnqn);
  if (!discovery && (sub === undefined || !state.exposes(data.subnqn))) {
    return refuse(
      INVALID_PARAMETERS,
      `subsystem ${data.subnqn} is not served on port ${state.portid}`,
      inData(CONNECT_DATA_SUBNQN),
    );
  }
  if (discovery && c.qid !== 0) {
    return refuse(INVALID_PARAMETERS, "a discovery controller has no I/O queues", {
      data: false,
      offset: CONNECT_QID,
    });
  }
  if (sub !== undefined && !sub.isHostAllowed(data.hostnqn)) {
    // Answered exactly as an unknown subsystem, so that a host that is not allowed cannot
    // learn which NQNs exist (Linux's nvmet_alloc_ctrl answers CONNECT_INVALID_HOST with the
    // HOSTNQN offset here, which tells it); the discovery log hides it from that host too.
    return refuse(
      INVALID_PARAMETERS,
      `host ${data.hostnqn} may not connect to ${sub.nqn} (answered as an unknown subsystem)`,
      inData(CONNECT_DATA_SUBNQN),
    );
  }
  // SQ flow control stays on unless the host asks and the port allows (FreeBSD's rule).
  const sqFlowControl = params.sqFlowControl ||
    (c.cattr & ConnectAttributes.DISABLE_SQ_FLOW_CONTROL) === 0;
  const subnqn = sub?.nqn ?? DISCOVERY_NQN;
  const controllers = state.controllers(subnqn);

  if (c.qid === 0) {
    if (state.maxControllers !== undefined && (controllers?.size ?? 0) >= state.maxControllers) {
      return refuse(
        CONTROLLER_BUSY,
        `${subnqn} has ${controllers?.size} controllers, the most allowed`,
      );
    }
    let cntlid: number | undefined;
    if (params.dynamicControllerModel) {
      if (data.cntlid !== CNTLID_DYNAMIC) {
        return refuse(
          INVALID_PARAMETERS,
          `CNTLID ${data.cntlid} is not FFFFh (dynamic model)`,
          inData(CONNECT_DATA_CNTLID),
        );
      }
    } else if (data.cntlid !== CNTLID_STATIC_ANY) {
      if (data.cntlid < CNTLID_MIN || data.cntlid > CNTLID_MAX) {
        return refuse(
          INVALID_PARAMETERS,
          `CNTLID ${data.cntlid} is out of range`,
          inData(CONNECT_DATA_CNTLID),
        );
      }
      if (controllers?.has(data.cntlid)) {
        return refuse(CONTROLLER_BUSY, `controller ${data.cntlid} is in use`);
      }
      cntlid = data.cntlid;
    }
    if (cntlid === undefined) {
      for (let id = CNTLID_MIN; id <= CNTLID_MAX; id++) {
        if (!controllers?.has(id)) {
          cntlid = id;
          break;
        }
      }
      if (cntlid === undefined) return refuse(CONTROLLER_BUSY, "no controller ID is free");
    }
    let kato = c.kato;
    if (kato === 0 && discovery) kato = state.discoveryKato;
    if (kato !== 0 && kato < state.minKato) kato = state.minKato;
    return {
      kind: "admin",
      subsystem: sub,
      subnqn,
      cntlid,
      kato,
      hostnqn: data.hostnqn,
      hostid: data.hostid,
      qsize,
      sqFlowControl,
    };
  }

  if (data.cntlid < CNTLID_MIN || data.cntlid > CNTLID_MAX) {
    return refuse(
      INVALID_PARAMETERS,
      `CNTLID ${data.cntlid} is not a controller ID`,
      inData(CONNECT_DATA_CNTLID),
    );
  }
  const ctrl = controllers?.get(data.cntlid);
  if (ctrl === undefined || ctrl.destroyed) {
    return refuse(
      INVALID_PARAMETERS,
      `controller ${data.cntlid} of ${subnqn} does not exist`,
      inData(CONNECT_DATA_CNTLID),
    );
  }
  if (ctrl.hostnqn !== data.hostnqn) {
    return refuse(
      INVALID_PARAMETERS,
      `controller ${data.cntlid} belongs to another host`,
      inData(CONNECT_DATA_HOSTNQN),
    );
  }
  switch (ctrl.checkIoQueue(c.qid)) {
    case "not-ready":
      return refuse(SEQUENCE_ERROR, `controller ${data.cntlid} is not ready`);
    case "exists":
      return refuse(SEQUENCE_ERROR, `I/O queue ${c.qid} exists already`);
    case "invalid-qid":
      return refuse(INVALID_PARAMETERS, `I/O queue ID ${c.qid} is out of range`, {
        data: false,
        offset: CONNECT_QID,
      });
  }
  return {
    kind: "io",
    controller: ctrl,
    cntlid: data.cntlid,
    qid: c.qid,
    qsize,
    sqFlowControl,
    // Linux's nvmet_ctrl_find_get matches CNTLID, host NQN and subsystem NQN only; some hosts
    // send a fresh HOSTID in every queue's Connect. Accepted; the target logs it.
    hostidDiffers: !sameBytes(ctrl.hostid, data.hostid),
  };
}
