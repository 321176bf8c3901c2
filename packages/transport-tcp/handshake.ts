/**
 * Connection set-up (NVMe/TCP 1.0, 3.5 and 3.6.2.2–3): the host sends ICReq, the controller
 * answers ICResp, and both sides check what the other offered before any capsule moves.
 *
 * @module
 */

import {
  CH_HLEN,
  CH_PLEN,
  CH_SIZE,
  type CommonHeader,
  decodePdu,
  encodePdu,
  Fes,
  fesName,
  type IcReq,
  ICREQ_DGST,
  ICREQ_HPDA,
  ICREQ_PFV,
  type IcResp,
  ICRESP_CPDA,
  ICRESP_DGST,
  ICRESP_MAXH2CDATA,
  ICRESP_PFV,
  PduError,
  PduHeaderLength,
  PduType,
  readCommonHeader,
  TCP_MAXH2CDATA_MIN,
  TCP_PDA_MAX,
  TCP_PFV_1_0,
  TCP_TERM_REQ_MAX_DATA,
  TERMREQ_FEI,
  TERMREQ_FES,
} from "@nvmf/proto";
import { type Association, TransportError } from "@nvmf/transport";
import type { TcpNegotiated } from "./handoff.ts";
import type { PduReader } from "./reader.ts";
import type { ByteStream } from "./stream.ts";

const NO_DIGESTS = { hdgst: false, ddgst: false, pda: 0 };

/** Sends a TermReq during set-up (no digests are in force yet) and makes the error. */
async function refuse(
  stream: ByteStream,
  controller: boolean,
  fes: number,
  fei: number,
  offending: Uint8Array,
  reason: string,
): Promise<TransportError> {
  const pdu = encodePdu(
    {
      type: controller ? PduType.C2H_TERM_REQ : PduType.H2C_TERM_REQ,
      fes,
      fei,
      data: offending.subarray(0, Math.min(offending.length, TCP_TERM_REQ_MAX_DATA)),
    },
    NO_DIGESTS,
  );
  try {
    await stream.writev([pdu]);
  } catch {
    // the peer is gone; the error below says why we stopped
  }
  stream.close();
  return new TransportError(
    `${reason}: sent TermReq ${fesName(fes)} (fes ${fes}, fei ${fei})`,
    "negotiation",
    { fes, fei },
  );
}

/** Reads the 128-byte IC PDU at the reader's start, or explains what came instead. */
async function readIcPdu(
  stream: ByteStream,
  reader: PduReader,
  controller: boolean,
  want: number,
): Promise<Uint8Array> {
  const what = want === PduType.IC_REQ ? "ICReq" : "ICResp";
  if (!(await reader.fill(CH_SIZE))) {
    stream.close();
    throw new TransportError(`Connection closed before the ${what}`, "connect");
  }
  const ch: CommonHeader = { pduType: 0, flags: 0, hlen: 0, pdo: 0, plen: 0 };
  readCommonHeader(reader.view, reader.start, ch);
  const header = reader.buf.subarray(reader.start, reader.start + CH_SIZE);
  if (ch.pduType === PduType.C2H_TERM_REQ || ch.pduType === PduType.H2C_TERM_REQ) {
    let fes = 0;
    let fei = 0;
    if (
      ch.plen >= PduHeaderLength.TERM_REQ &&
      ch.plen <= PduHeaderLength.TERM_REQ + TCP_TERM_REQ_MAX_DATA && (await reader.fill(ch.plen))
    ) {
      fes = reader.view.getUint16(reader.start + TERMREQ_FES, true);
      fei = reader.view.getUint32(reader.start + TERMREQ_FEI, true);
    }
    stream.close();
    throw new TransportError(
      `The peer refused the connection with a TermReq: ${fesName(fes)} (fes ${fes}, fei ${fei})`,
      "termreq",
      { fes, fei },
    );
  }
  if (ch.pduType !== want) {
    throw await refuse(
      stream,
      controller,
      Fes.INVALID_PDU_HEADER_FIELD,
      0,
      header,
      `Expected ${what}, received PDU type ${ch.pduType}`,
    );
  }
  if (ch.hlen !== PduHeaderLength.IC_REQ) {
    throw await refuse(
      stream,
      controller,
      Fes.INVALID_PDU_HEADER_FIELD,
      CH_HLEN,
      header,
      `${what} HLEN is ${ch.hlen}, not 128`,
    );
  }
  if (ch.plen !== PduHeaderLength.IC_REQ) {
    throw await refuse(
      stream,
      controller,
      Fes.INVALID_PDU_HEADER_FIELD,
      CH_PLEN,
      header,
      `${what} PLEN is ${ch.plen}, not 128`,
    );
  }
  if (!(await reader.fill(PduHeaderLength.IC_REQ))) {
    throw new TransportError(`Connection closed in the middle of the ${what}`, "connect");
  }
  const pdu = reader.buf.slice(reader.start, reader.start + PduHeaderLength.IC_REQ);
  reader.start += PduHeaderLength.IC_REQ;
  return pdu;
}

/**
 * Host side: sends ICReq with the association's HPDA, digests and MAXR2T, and checks ICResp
 * (PFV 0, CPDA in range, the digests granted exactly as asked — as Linux's host requires —
 * and MAXH2CDATA at least 4096 and a multiple of 4).
 *
 * @param stream The new connection.
 * @param reader Its reader.
 * @param association The host association.
 * @returns The negotiated values.
 * @throws {TransportError} With code `"negotiation"` (after sending a TermReq), `"termreq"`
 *   or `"connect"`.
 */
export async function hostHandshake(
  stream: ByteStream,
  reader: PduReader,
  association: Association,
): Promise<TcpNegotiated> {
  const tcp = association.params.tcp;
  const icreq: IcReq = {
    type: PduType.IC_REQ,
    pfv: TCP_PFV_1_0,
    hpda: tcp.pda,
    hdgst: tcp.headerDigests,
    ddgst: tcp.dataDigests,
    maxr2t: tcp.maxr2t - 1, // 0's based on the wire
  };
  await stream.writev([encodePdu(icreq, NO_DIGESTS)]);
  const bytes = await readIcPdu(stream, reader, false, PduType.IC_RESP);
  let resp: IcResp;
  try {
    resp = decodePdu(bytes, { hdgst: false, ddgst: false }) as IcResp;
  } catch (e) {
    if (e instanceof PduError) {
      throw await refuse(stream, false, e.fes, e.fei, bytes, `Invalid ICResp: ${e.message}`);
    }
    throw e;
  }
  if (resp.pfv !== TCP_PFV_1_0) {
    throw await refuse(
      stream,
      false,
      Fes.UNSUPPORTED_PARAMETER,
      ICRESP_PFV,
      bytes,
      `ICResp PFV ${resp.pfv} is not supported`,
    );
  }
  if (resp.cpda > TCP_PDA_MAX) {
    throw await refuse(
      stream,
      false,
      Fes.UNSUPPORTED_PARAMETER,
      ICRESP_CPDA,
      bytes,
      `ICResp CPDA ${resp.cpda} is out of range`,
    );
  }
  if (resp.hdgst !== tcp.headerDigests || resp.ddgst !== tcp.dataDigests) {
    throw await refuse(
      stream,
      false,
      Fes.UNSUPPORTED_PARAMETER,
      ICRESP_DGST,
      bytes,
      `ICResp digests (header ${resp.hdgst}, data ${resp.ddgst}) differ from those asked for (header ${tcp.headerDigests}, data ${tcp.dataDigests})`,
    );
  }
  // 7.4.10.3 (FreeBSD cites it): MAXH2CDATA is at least 4096 and a multiple of 4.
  if (resp.maxh2cdata < TCP_MAXH2CDATA_MIN || resp.maxh2cdata % 4 !== 0) {
    throw await refuse(
      stream,
      false,
      Fes.UNSUPPORTED_PARAMETER,
      ICRESP_MAXH2CDATA,
      bytes,
      `Invalid MAXH2CDATA ${resp.maxh2cdata}`,
    );
  }
  return {
    headerDigests: resp.hdgst,
    dataDigests: resp.ddgst,
    rxpda: tcp.pda,
    txpda: resp.cpda,
    maxr2t: tcp.maxr2t,
    maxh2cdata: resp.maxh2cdata,
  };
}

/**
 * Controller side: reads and checks ICReq (PFV 0, HPDA in range), grants the digests the host
 * asks for when the association allows them, and answers ICResp with its CPDA and MAXH2CDATA.
 *
 * @param stream The accepted connection.
 * @param reader Its reader.
 * @param association The controller association.
 * @returns The negotiated values.
 * @throws {TransportError} With code `"negotiation"` (after sending a TermReq), `"termreq"`
 *   or `"connect"`.
 */
export async function controllerHandshake(
  stream: ByteStream,
  reader: PduReader,
  association: Association,
): Promise<TcpNegotiated> {
  const tcp = association.params.tcp;
  const bytes = await readIcPdu(stream, reader, true, PduType.IC_REQ);
  let req: IcReq;
  try {
    req = decodePdu(bytes, { hdgst: false, ddgst: false }) as IcReq;
  } catch (e) {
    if (e instanceof PduError) {
      throw await refuse(stream, true, e.fes, e.fei, bytes, `Invalid ICReq: ${e.message}`);
    }
    throw e;
  }
  if (req.pfv !== TCP_PFV_1_0) {
    throw await refuse(
      stream,
      true,
      Fes.UNSUPPORTED_PARAMETER,
      ICREQ_PFV,
      bytes,
      `ICReq PFV ${req.pfv} is not supported`,
    );
  }
  if (req.hpda > TCP_PDA_MAX) {
    throw await refuse(
      stream,
      true,
      Fes.UNSUPPORTED_PARAMETER,
      ICREQ_HPDA,
      bytes,
      `ICReq HPDA ${req.hpda} is out of range`,
    );
  }
  if ((req.hdgst && !tcp.headerDigests) || (req.ddgst && !tcp.dataDigests)) {
    throw await refuse(
      stream,
      true,
      Fes.UNSUPPORTED_PARAMETER,
      ICREQ_DGST,
      bytes,
      "ICReq asks for digests this controller does not allow",
    );
  }
  const resp: IcResp = {
    type: PduType.IC_RESP,
    pfv: TCP_PFV_1_0,
    cpda: tcp.pda,
    hdgst: req.hdgst,
    ddgst: req.ddgst,
    maxh2cdata: tcp.maxh2cdata,
  };
  await stream.writev([encodePdu(resp, NO_DIGESTS)]);
  return {
    headerDigests: req.hdgst,
    dataDigests: req.ddgst,
    rxpda: tcp.pda,
    txpda: req.hpda,
    maxr2t: req.maxr2t + 1,
    maxh2cdata: tcp.maxh2cdata,
  };
}
