/**
 * In-band authentication on the host side (NVMe Base 2.0 8.13, DH-HMAC-CHAP), as Linux's
 * `drivers/nvme/host/auth.c` runs it after a Connect whose response sets AUTHREQ.ATR: on the
 * queue just connected, AUTH_Negotiate (every hash and DH group), the controller's Challenge,
 * the Reply (R1, and C2 when a controller secret is given), Success1 (R2 checked when
 * bidirectional), Success2. Any failure ends the connect with a {@linkcode ControllerError}
 * of code `"authentication"`; the host sends AUTH_Failure2 first when the fault is the
 * controller's. Private to the package.
 *
 * @module
 */

import {
  AUTH_FAILURE_REASON_FAILED,
  AUTH_SECP_NVME,
  AUTH_SPSP_DHCHAP,
  AuthFailureExplanation,
  type AuthMessage,
  decodeAuthMessage,
  encodeAuthReceive,
  encodeAuthSend,
  encodeFailure,
  encodeNegotiate,
  encodeReply,
  encodeSuccess2,
  nameOf,
} from "@nvmf/proto";
import {
  augmentedChallenge,
  dhchapResponse,
  type DhchapSecret,
  dhGroupById,
  DhKeyPair,
  hashById,
  parseDhchapSecret,
  randomChallenge,
  randomSeqnum,
  responsesEqual,
} from "@nvmf/auth";
import type { HostQueue } from "./_queue.ts";
import { adminCommand, run } from "./_fabrics.ts";
import { ControllerError } from "./errors.ts";

/** Bytes asked for by each Authentication Receive, as Linux. */
const RECEIVE_LENGTH = 4096;

/** The host's DH-HMAC-CHAP secrets, parsed. */
export interface HostDhchap {
  /** The host's secret (`dhchapSecret`). */
  secret: DhchapSecret;
  /** The controller's secret (`dhchapCtrlSecret`): authenticate the controller too. */
  ctrlSecret: DhchapSecret | undefined;
}

/**
 * Parses the connect options' secrets; errors never quote them.
 *
 * @param secret `dhchapSecret`.
 * @param ctrlSecret `dhchapCtrlSecret`.
 * @returns The secrets, or undefined when none is given.
 * @throws {RangeError} If one is malformed, or a controller secret comes without a host one.
 */
export function hostDhchap(
  secret: string | undefined,
  ctrlSecret: string | undefined,
): HostDhchap | undefined {
  if (secret === undefined) {
    if (ctrlSecret !== undefined) {
      throw new RangeError("Cannot use dhchapCtrlSecret without dhchapSecret");
    }
    return undefined;
  }
  return {
    secret: parseDhchapSecret(secret, "dhchapSecret"),
    ctrlSecret: ctrlSecret === undefined
      ? undefined
      : parseDhchapSecret(ctrlSecret, "dhchapCtrlSecret"),
  };
}

/** What authentication needs of the association. */
export interface AuthParams {
  /** The subsystem NQN. */
  subnqn: string;
  /** The host NQN. */
  hostnqn: string;
  /** The secrets, if given. */
  dhchap?: HostDhchap;
}

function refuse(qid: number, subnqn: string, why: string): ControllerError {
  return new ControllerError(
    `Cannot authenticate queue ${qid} to ${subnqn}: ${why}`,
    "authentication",
  );
}

async function send(queue: HostQueue, timeoutMs: number, message: Uint8Array): Promise<void> {
  const template = encodeAuthSend({
    cid: 0,
    secp: AUTH_SECP_NVME,
    spsp0: AUTH_SPSP_DHCHAP,
    spsp1: AUTH_SPSP_DHCHAP,
    tl: message.length,
  });
  const command = adminCommand(template, timeoutMs, message, "host-to-controller");
  command.admin = queue.qid === 0;
  await run(queue, command);
}

async function receive(queue: HostQueue, timeoutMs: number): Promise<AuthMessage> {
  const template = encodeAuthReceive({
    cid: 0,
    secp: AUTH_SECP_NVME,
    spsp0: AUTH_SPSP_DHCHAP,
    spsp1: AUTH_SPSP_DHCHAP,
    al: RECEIVE_LENGTH,
  });
  const data = new Uint8Array(RECEIVE_LENGTH);
  const command = adminCommand(template, timeoutMs, data, "controller-to-host");
  command.admin = queue.qid === 0;
  await run(queue, command);
  return decodeAuthMessage(data);
}

function failure1(m: AuthMessage & { kind: "failure1" | "failure2" }): string {
  const why = nameOf(AuthFailureExplanation, m.explanation) ?? `explanation ${m.explanation}`;
  return `the controller refused it (AUTH_Failure1: ${why}); is the host secret right?`;
}

/**
 * Runs one DH-HMAC-CHAP transaction on a queue that was just connected.
 *
 * @param queue The queue.
 * @param timeoutMs Timeout of each command.
 * @param params The NQNs and the secrets.
 * @throws {ControllerError} (code `"authentication"`) when it fails; the message says why
 * and never carries a secret.
 */
export async function authenticate(
  queue: HostQueue,
  timeoutMs: number,
  params: AuthParams,
): Promise<void> {
  try {
    await transaction(queue, timeoutMs, params);
  } catch (e) {
    if (e instanceof ControllerError || e instanceof RangeError) throw e;
    // Linux's target may tear the controller down before AUTH_Failure1 reaches the host.
    const error = refuse(
      queue.qid,
      params.subnqn,
      `the transaction broke off (${
        (e as Error).message
      }); the controller may have refused the host secret`,
    );
    (error as { cause?: unknown }).cause = e;
    throw error;
  }
}

async function transaction(
  queue: HostQueue,
  timeoutMs: number,
  params: AuthParams,
): Promise<void> {
  const qid = queue.qid;
  const { subnqn, hostnqn } = params;
  const dhchap = params.dhchap;
  if (dhchap === undefined) {
    throw refuse(qid, subnqn, "the controller requires it and no DH-HMAC-CHAP secret was given");
  }
  const tid = qid;
  const fail2 = async (explanation: number, why: string): Promise<never> => {
    try {
      await send(
        queue,
        timeoutMs,
        encodeFailure({ kind: "failure2", tid, reason: AUTH_FAILURE_REASON_FAILED, explanation }),
      );
    } catch {
      // The association ends anyway.
    }
    throw refuse(qid, subnqn, why);
  };

  await send(queue, timeoutMs, encodeNegotiate({ tid }));
  let m: AuthMessage;
  try {
    m = await receive(queue, timeoutMs);
  } catch (e) {
    if (e instanceof SyntaxError) return fail2(AuthFailureExplanation.INCORRECT_PAYLOAD, e.message);
    throw e;
  }
  if (m.kind === "failure1") throw refuse(qid, subnqn, failure1(m));
  if (m.kind !== "challenge") {
    return fail2(AuthFailureExplanation.INCORRECT_MESSAGE, `expected a Challenge, got ${m.kind}`);
  }
  if (m.tid !== tid) {
    return fail2(AuthFailureExplanation.INCORRECT_PAYLOAD, `Challenge T_ID ${m.tid} is not ${tid}`);
  }
  const hash = hashById(m.hashId);
  if (hash === undefined || m.challenge.length !== hash.length) {
    return fail2(
      AuthFailureExplanation.HASH_UNUSABLE,
      `the Challenge's hash ${m.hashId} with HL ${m.challenge.length} is not usable`,
    );
  }
  const group = dhGroupById(m.dhgroupId);
  if (group === undefined) {
    return fail2(AuthFailureExplanation.DHGROUP_UNUSABLE, `unknown DH group ${m.dhgroupId}`);
  }
  let c1 = m.challenge;
  let shared: Uint8Array | undefined;
  let hostValue: Uint8Array = new Uint8Array(0);
  if (group.size === 0) {
    if (m.dhValue.length !== 0) {
      return fail2(AuthFailureExplanation.INCORRECT_PAYLOAD, "a DH value with the null group");
    }
  } else {
    const pair = new DhKeyPair(group.id);
    try {
      shared = pair.sharedValue(m.dhValue);
    } catch (e) {
      return fail2(AuthFailureExplanation.DHGROUP_UNUSABLE, (e as Error).message);
    }
    hostValue = pair.publicValue;
    c1 = augmentedChallenge(hash.id, shared, c1);
  }
  const r1 = dhchapResponse({
    hashId: hash.id,
    key: dhchap.secret.transform(hostnqn),
    challenge: c1,
    seqnum: m.seqnum,
    tid,
    role: "host",
    hostnqn,
    subnqn,
  });
  const bidirectional = dhchap.ctrlSecret !== undefined;
  const c2 = bidirectional ? randomChallenge(hash.length) : new Uint8Array(hash.length);
  const s2 = randomSeqnum();
  await send(
    queue,
    timeoutMs,
    encodeReply({
      tid,
      cvalid: bidirectional,
      seqnum: s2,
      response: r1,
      challenge: c2,
      dhValue: hostValue,
    }),
  );
  try {
    m = await receive(queue, timeoutMs);
  } catch (e) {
    if (e instanceof SyntaxError) return fail2(AuthFailureExplanation.INCORRECT_PAYLOAD, e.message);
    throw e;
  }
  if (m.kind === "failure1") throw refuse(qid, subnqn, failure1(m));
  if (m.kind !== "success1" || m.tid !== tid) {
    return fail2(AuthFailureExplanation.INCORRECT_MESSAGE, `expected Success1, got ${m.kind}`);
  }
  if (!bidirectional) return;
  if (!m.rvalid || m.response.length !== hash.length) {
    return fail2(
      AuthFailureExplanation.FAILED,
      "the controller did not answer the host's challenge",
    );
  }
  const r2 = dhchapResponse({
    hashId: hash.id,
    key: dhchap.ctrlSecret!.transform(subnqn),
    challenge: shared === undefined ? c2 : augmentedChallenge(hash.id, shared, c2),
    seqnum: s2,
    tid,
    role: "controller",
    hostnqn,
    subnqn,
  });
  if (!responsesEqual(r2, m.response)) {
    return fail2(
      AuthFailureExplanation.FAILED,
      "the controller's response does not match (controller authentication failed); is the controller secret right?",
    );
  }
  await send(queue, timeoutMs, encodeSuccess2(tid));
}
