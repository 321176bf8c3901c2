/**
 * The Fabrics steps of setting an association up and shutting it down, as free functions over a
 * {@linkcode HostQueue} (private) — FreeBSD's `nvmf_connect()`, `nvmf_read_property()`,
 * `nvmf_write_property()` and `nvmf_host_request_queues()` in `lib/libnvmf/nvmf_host.c`:
 * Connect (Fabrics 3.3), Property Get and Set (Fabrics 3.4), enabling the controller (CC.EN,
 * CSTS.RDY), Set Features Number of Queues, and the orderly shutdown (CC.SHN, CSTS.SHST).
 * Each sends its commands on the queue it is given and awaits them; none keeps state.
 *
 * @module
 */

import {
  AdminOpcode,
  type Cap,
  capTimeoutMs,
  CcBits,
  CONNECT_CATTR,
  CONNECT_DATA_CNTLID,
  CONNECT_DATA_HOSTID,
  CONNECT_DATA_HOSTNQN,
  CONNECT_DATA_SUBNQN,
  CONNECT_KATO,
  CONNECT_QID,
  CONNECT_RECFMT,
  CONNECT_SQSIZE,
  ConnectAttributes,
  CQE_SIZE_LOG2,
  cqeDw0,
  cqeSqhd,
  decodeConnectInvalidParameter,
  decodeConnectResponse,
  decodeCsts,
  encodeCc,
  encodeConnect,
  encodeConnectData,
  encodePropertyGet,
  encodePropertySet,
  encodeSqe,
  FABRICS_OPCODE,
  FabricsStatus,
  FabricsType,
  FeatureId,
  NumberOfQueuesBits,
  NvmeStatusError,
  Property,
  propertyGetValue,
  ShutdownNotification,
  ShutdownStatus,
  SQE_SIZE_LOG2,
  SQHD_FLOW_CONTROL_DISABLED,
  StatusCodeType,
} from "@nvmf/proto";
import type { DataDirection } from "@nvmf/transport";
import { Command, type HostQueue } from "./_queue.ts";
import { authenticate, type HostDhchap } from "./_auth.ts";
import { ControllerError } from "./errors.ts";
import { HOST_DEFAULTS } from "./options.ts";

/** What Connect says of the host, and whether it asks for SQ flow control. */
export interface ConnectParams {
  /** The subsystem NQN. */
  subnqn: string;
  /** The host NQN. */
  hostnqn: string;
  /** The Host Identifier. */
  hostid: Uint8Array;
  /** Whether the host requires SQ flow control (CATTR). */
  sqFlowControl: boolean;
  /** DH-HMAC-CHAP secrets, for a controller that asks for authentication. */
  dhchap?: HostDhchap;
}

/** Longest shutdown the host waits for, whatever RTD3E says (Linux: 60 s). */
const SHUTDOWN_TIMEOUT_MAX_MS = 60_000;
/** Longest pause between two CSTS reads while waiting for RDY or SHST. */
const CSTS_POLL_MAX_MS = 100;

/** Names of the Connect fields a CONNECT_INVALID_PARAMETERS response can point at. */
const CONNECT_SQE_FIELDS: Record<number, string> = {
  [CONNECT_RECFMT]: "RECFMT",
  [CONNECT_QID]: "QID",
  [CONNECT_SQSIZE]: "SQSIZE",
  [CONNECT_CATTR]: "CATTR",
  [CONNECT_KATO]: "KATO",
};
const CONNECT_DATA_FIELDS: Record<number, string> = {
  [CONNECT_DATA_HOSTID]: "HOSTID",
  [CONNECT_DATA_CNTLID]: "CNTLID",
  [CONNECT_DATA_SUBNQN]: "SUBNQN",
  [CONNECT_DATA_HOSTNQN]: "HOSTNQN",
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * An admin (or Fabrics) command from a whole SQE.
 *
 * @param template The 64-byte SQE (CID and DPTR are filled in when sent).
 * @param timeoutMs Its timeout.
 * @param data A data buffer, if it moves data.
 * @param direction Which way the data moves.
 * @returns The command, not yet sent.
 */
export function adminCommand(
  template: Uint8Array,
  timeoutMs: number,
  data?: Uint8Array,
  direction?: DataDirection,
): Command {
  const command = new Command();
  command.template = template;
  command.opcode = template[0];
  if (template[0] === FABRICS_OPCODE) command.fctype = template[4];
  command.data = data;
  command.direction = data === undefined ? undefined : direction;
  command.admin = true;
  command.timeoutMs = timeoutMs;
  return command;
}

/**
 * Sends a command on a queue.
 *
 * @param queue The queue.
 * @param command The command.
 * @returns Its CQE.
 */
export function run(queue: HostQueue, command: Command): Promise<Uint8Array> {
  queue.submit(command);
  return command.promise;
}

/**
 * Connect (Fabrics 3.3) on a new queue: SQSIZE from the queue, CATTR from `params`, and once it
 * succeeds the queue's SQ flow control set from the SQHD of the response.
 *
 * @param queue The queue, connected by the transport and not yet by Fabrics.
 * @param timeoutMs The command's timeout.
 * @param params The host, the subsystem and SQ flow control.
 * @param cntlid The CNTLID asked for (FFFFh: dynamic).
 * @param kato KATO in ms (the admin queue's; 0 on I/O queues).
 * @returns The CNTLID the controller gave.
 * @throws {NvmeStatusError} When the controller rejects it, naming the field it rejects.
 * @throws {ControllerError} When the controller drops SQ flow control the host requires, asks
 * for a secure channel, or in-band authentication (AUTHREQ.ATR, run right here) fails.
 */
export async function fabricsConnect(
  queue: HostQueue,
  timeoutMs: number,
  params: ConnectParams,
  cntlid: number,
  kato: number,
): Promise<number> {
  const template = encodeConnect({
    cid: 0,
    qid: queue.qid,
    sqsize: queue.qsize - 1, // SQSIZE is 0's based
    cattr: params.sqFlowControl ? 0 : ConnectAttributes.DISABLE_SQ_FLOW_CONTROL,
    kato,
  });
  const data = encodeConnectData({
    hostid: params.hostid,
    cntlid,
    subnqn: params.subnqn,
    hostnqn: params.hostnqn,
  });
  const command = adminCommand(template, timeoutMs, data, "host-to-controller");
  command.admin = queue.qid === 0;
  let cqe: Uint8Array;
  try {
    cqe = await run(queue, command);
  } catch (e) {
    if (e instanceof NvmeStatusError && e.sct === StatusCodeType.COMMAND_SPECIFIC) {
      throw connectError(e, queue.qid, params.subnqn);
    }
    throw e;
  }
  const sqhd = cqeSqhd(cqe);
  if (sqhd === SQHD_FLOW_CONTROL_DISABLED && params.sqFlowControl) {
    throw new ControllerError(
      `Cannot connect queue ${queue.qid}: the controller disabled SQ flow control, which the host requires`,
      "protocol",
    );
  }
  queue.setConnected(sqhd, params.sqFlowControl);
  const rsp = decodeConnectResponse(cqe);
  checkCntlid(rsp.cntlid, cntlid, queue.qid, params.subnqn);
  if (rsp.ascr) {
    throw new ControllerError(
      `Cannot connect to ${params.subnqn}: the controller requires a secure channel (TLS)`,
      "authentication",
    );
  }
  if (rsp.atr) await authenticate(queue, timeoutMs, params);
  return rsp.cntlid;
}

/** CNTLIDs from FFF0h up are reserved (Fabrics 3.3: FFFFh dynamic, FFFEh any static). */
const CNTLID_RESERVED = 0xfff0;

/**
 * Checks the CNTLID of a Connect response: never a reserved value, and the controller asked for
 * when the host named one (an I/O queue names its admin queue's controller).
 *
 * @param got The CNTLID in the response.
 * @param asked The CNTLID in the Connect data.
 * @param qid The queue.
 * @param subnqn The subsystem.
 * @throws {ControllerError} When it is wrong.
 */
function checkCntlid(got: number, asked: number, qid: number, subnqn: string): void {
  if (got >= CNTLID_RESERVED) {
    throw new ControllerError(
      `Cannot connect queue ${qid} to ${subnqn}: the controller answered the reserved CNTLID 0x${
        got.toString(16)
      }`,
      "protocol",
    );
  }
  if (asked < CNTLID_RESERVED && got !== asked) {
    throw new ControllerError(
      `Cannot connect queue ${qid} to ${subnqn}: the controller answered CNTLID ${got}, not the ${asked} asked for`,
      "protocol",
    );
  }
}

/**
 * A Connect rejected with a command specific status, its message naming the field the
 * controller points at (Fabrics 3.3, Invalid Parameter).
 *
 * @param e The status error.
 * @param qid The queue being connected.
 * @param subnqn The subsystem.
 * @returns The error to throw.
 */
export function connectError(e: NvmeStatusError, qid: number, subnqn: string): NvmeStatusError {
  let detail = "";
  if (e.sc === FabricsStatus.CONNECT_INVALID_PARAMETERS && e.dw0 !== undefined) {
    const ipo = decodeConnectInvalidParameter({
      dw0: e.dw0,
      dw1: 0,
      sqhd: 0,
      sqid: 0,
      cid: 0,
      status: 0,
    });
    const field = (ipo.inData ? CONNECT_DATA_FIELDS : CONNECT_SQE_FIELDS)[ipo.offset];
    detail = `: the controller rejects ${field ?? "the field"} at byte ${ipo.offset} of the ${
      ipo.inData ? "Connect data" : "Connect command"
    }`;
  }
  const message = `Cannot connect queue ${qid} to ${subnqn}: ${e.message}${detail}`;
  return new NvmeStatusError(e.status, {
    cid: e.cid,
    dw0: e.dw0,
    opcode: FABRICS_OPCODE,
    fctype: FabricsType.CONNECT,
    message,
  });
}

/**
 * Property Get (Fabrics 3.4).
 *
 * @param queue The admin queue.
 * @param timeoutMs The command's timeout.
 * @param offset The property (`Property`).
 * @returns The value.
 */
export async function propertyGet(
  queue: HostQueue,
  timeoutMs: number,
  offset: number,
): Promise<bigint> {
  const cqe = await run(queue, adminCommand(encodePropertyGet({ cid: 0, offset }), timeoutMs));
  return propertyGetValue(cqe);
}

/**
 * Property Set (Fabrics 3.4).
 *
 * @param queue The admin queue.
 * @param timeoutMs The command's timeout.
 * @param offset The property (`Property`).
 * @param value The value.
 */
export async function propertySet(
  queue: HostQueue,
  timeoutMs: number,
  offset: number,
  value: bigint,
): Promise<void> {
  await run(queue, adminCommand(encodePropertySet({ cid: 0, offset, value }), timeoutMs));
}

/**
 * CC.EN = 1, then CSTS.RDY within CAP.TO (Base 3.5.1; Linux `nvme_enable_ctrl`).
 *
 * @param admin The admin queue.
 * @param timeoutMs The timeout of each command.
 * @param cap CAP as read.
 * @throws {ControllerError} When CSTS.CFS is set or RDY does not follow in time.
 */
export async function enableController(
  admin: HostQueue,
  timeoutMs: number,
  cap: Cap,
): Promise<void> {
  const mps = Math.min(Math.max(0, cap.mpsmin), cap.mpsmax);
  const cc = encodeCc({
    en: true,
    css: 0, // NVM command set
    mps,
    ams: 0, // round robin
    shn: ShutdownNotification.NONE,
    iosqes: SQE_SIZE_LOG2,
    iocqes: CQE_SIZE_LOG2,
  });
  await propertySet(admin, timeoutMs, Property.CC, BigInt(cc));
  // Linux nvme_wait_ready: (CAP.TO + 1) * 500 ms.
  const timeout = capTimeoutMs({ ...cap, to: cap.to + 1 });
  const deadline = performance.now() + timeout;
  for (let delay = 1;; delay = Math.min(delay * 2, CSTS_POLL_MAX_MS)) {
    const csts = decodeCsts(Number(await propertyGet(admin, timeoutMs, Property.CSTS)));
    if (csts.cfs) {
      throw new ControllerError(
        `Cannot enable the controller: CSTS.CFS reports a fatal status`,
        "fatal",
      );
    }
    if (csts.rdy) return;
    if (performance.now() >= deadline) {
      throw new ControllerError(
        `Cannot enable the controller: CSTS.RDY is still 0 after ${timeout} ms (CAP.TO ${cap.to})`,
        "not-ready",
      );
    }
    await sleep(delay);
  }
}

/**
 * Set Features Number of Queues (Base 5.27.1.5).
 *
 * @param admin The admin queue.
 * @param timeoutMs The command's timeout.
 * @param wanted How many I/O queues the host asks for.
 * @returns How many to use: as Linux, what was granted when it is fewer.
 */
export async function requestQueues(
  admin: HostQueue,
  timeoutMs: number,
  wanted: number,
): Promise<number> {
  const n = wanted - 1; // NSQR and NCQR are 0's based
  const cqe = await run(
    admin,
    adminCommand(
      encodeSqe({
        opcode: AdminOpcode.SET_FEATURES,
        cdw10: FeatureId.NUMBER_OF_QUEUES,
        cdw11: ((n & NumberOfQueuesBits.NSQ_MASK) | (n << NumberOfQueuesBits.NCQ_SHIFT)) >>> 0,
      }),
      timeoutMs,
    ),
  );
  const dw0 = cqeDw0(cqe);
  const nsqa = dw0 & NumberOfQueuesBits.NSQ_MASK;
  const ncqa = (dw0 >>> NumberOfQueuesBits.NCQ_SHIFT) & NumberOfQueuesBits.NCQ_MASK;
  return Math.min(wanted, Math.min(nsqa, ncqa) + 1);
}

/**
 * CC.SHN = normal, then CSTS.SHST = complete (Base 3.6.1; Linux `nvme_shutdown_ctrl`: 5 s, or
 * RTD3E when longer, at most 60 s). Each Property Get/Set waits at most that long too, not the
 * admin timeout: a controller that stays silent does not hold the shutdown for a minute.
 *
 * @param admin The admin queue.
 * @param timeoutMs The timeout of each command (the admin timeout).
 * @param rtd3e RTD3E of Identify Controller, in microseconds.
 * @param shutdownTimeout The shutdown timeout in ms when RTD3E asks for no more.
 * @throws {ControllerError} When CSTS.SHST does not reach "complete" in time.
 * @throws {CommandTimeoutError} When a Property Get/Set gets no answer in time.
 */
export async function shutdownController(
  admin: HostQueue,
  timeoutMs: number,
  rtd3e: number,
  shutdownTimeout: number = HOST_DEFAULTS.shutdownTimeout,
): Promise<void> {
  const rtd3eMs = Math.ceil(rtd3e / 1000);
  const timeout = Math.min(Math.max(shutdownTimeout, rtd3eMs), SHUTDOWN_TIMEOUT_MAX_MS);
  const commandTimeout = Math.max(1, Math.min(timeoutMs, timeout));
  const cc = Number(await propertyGet(admin, commandTimeout, Property.CC));
  const shnMask = CcBits.SHN_MASK << CcBits.SHN_SHIFT;
  const shn = ShutdownNotification.NORMAL << CcBits.SHN_SHIFT;
  await propertySet(admin, commandTimeout, Property.CC, BigInt(((cc & ~shnMask) | shn) >>> 0));
  const deadline = performance.now() + timeout;
  for (let delay = 1;; delay = Math.min(delay * 2, CSTS_POLL_MAX_MS)) {
    const csts = decodeCsts(Number(await propertyGet(admin, commandTimeout, Property.CSTS)));
    if (csts.shst === ShutdownStatus.COMPLETE) return;
    if (performance.now() >= deadline) {
      throw new ControllerError(
        `Cannot shut the controller down: CSTS.SHST is ${csts.shst}, not 2 (complete), after ${timeout} ms`,
        "shutdown-timeout",
      );
    }
    await sleep(delay);
  }
}
