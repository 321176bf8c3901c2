/**
 * In-band authentication on the controller side (NVMe Base 2.0 8.13, DH-HMAC-CHAP), modelled
 * on Linux's `drivers/nvme/target/fabrics-cmd-auth.c` and `auth.c`: a host with a key configured
 * authenticates on every queue; the Connect response sets AUTHREQ.ATR, every command but
 * Authentication Send/Receive gets Authentication Required (SCT 1, SC 91h) until the transaction
 * succeeds; a failed transaction ends the queue after AUTH_Failure1 (Linux: a fatal controller
 * error), and so does one that is not finished within its expiry (KATO, 120 s without KATO, as
 * Linux; from the Connect on, so that a host that never starts cannot hold the queue).
 * Private to the package.
 *
 * @module
 */

import {
  AUTH_DHCHAP_AUTHID,
  AUTH_FAILURE_REASON_FAILED,
  AUTH_SECP_NVME,
  AUTH_SPSP_DHCHAP,
  AuthFailureExplanation,
  type AuthMessage,
  AuthSecureChannel,
  decodeAuthMessage,
  decodeAuthReceive,
  decodeAuthSend,
  encodeChallenge,
  encodeFailure,
  encodeSuccess1,
  FABRICS_OPCODE,
  FabricsStatus,
  FabricsType,
  fabricsType,
  SQE_OPCODE,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";
import {
  augmentedChallenge,
  DH_GROUPS,
  DHCHAP_HASHES,
  type DhchapHash,
  dhchapResponse,
  type DhchapSecret,
  type DhGroup,
  dhGroupByName,
  DhKeyPair,
  hashById,
  hashByName,
  parseDhchapSecret,
  randomChallenge,
  randomSeqnum,
  responsesEqual,
} from "@nvmf/auth";
import type { CommandCapsule, QueuePair } from "@nvmf/transport";
import { INVALID_FIELD, NO_RESPONSE, SGL_LENGTH_INVALID, SUCCESS } from "./_status.ts";

/** Authentication Required: SCT 1, SC 91h, DNR (Linux `NVME_SC_AUTH_REQUIRED | DNR`). */
export const AUTH_REQUIRED: number = statusOf(
  StatusCodeType.COMMAND_SPECIFIC,
  FabricsStatus.AUTHENTICATION_REQUIRED,
  true,
);

/** Largest Authentication Send message taken: Reply with SHA-512 and ffdhe8192 is 1168. */
const MAX_SEND = 4096;
/** Largest Authentication Receive buffer filled (Linux hosts ask for 4096). */
const MAX_RECEIVE = 65536;
/** Expiry of a transaction when the controller has no KATO (Linux: 120 s). */
const EXPIRY_WITHOUT_KATO = 120_000;

/**
 * A host's DH-HMAC-CHAP settings as configured (the JSON config, nvmetcli's host attributes
 * `dhchap_key`, `dhchap_ctrl_key`, `dhchap_hash`, `dhchap_dhgroup`, the daemon's flags).
 */
export interface DhchapHostKeys {
  /** The host's secret `DHHC-1:hh:...:`; required. */
  key: string;
  /** The controller's secret, for bidirectional authentication. */
  ctrlKey?: string;
  /** `hmac(sha256)` (default), `hmac(sha384)` or `hmac(sha512)`. */
  hash?: string;
  /** `null` (default), `ffdhe2048`, `ffdhe3072`, `ffdhe4096`, `ffdhe6144` or `ffdhe8192`. */
  dhgroup?: string;
}

/** A host's DH-HMAC-CHAP settings, parsed and checked. */
export interface DhchapHostSettings {
  /** The host's secret. */
  key: DhchapSecret;
  /** The controller's secret, if any. */
  ctrlKey: DhchapSecret | undefined;
  /** The hash asked for. */
  hash: DhchapHash;
  /** The DH group asked for. */
  dhgroup: DhGroup;
  /**
   * Whether the hash and the DH group were configured for this host (else they are the defaults,
   * `hmac(sha256)` and `null`, and a target-wide {@linkcode DhchapPolicy} chooses, when set).
   */
  configured: { hash: boolean; dhgroup: boolean };
}

/**
 * What a target allows hosts whose hash or DH group is not configured (SPDK's `nvmf_set_config`
 * `dhchap_digests` / `dhchap_dhgroups`): the strongest of these that the host offers is chosen,
 * as SPDK's target does. A list left out allows all. Without a policy such a host gets
 * `hmac(sha256)` (or the first hash it offers) and the `null` group, as Linux's nvmet defaults.
 */
export interface DhchapPolicy {
  /** Hashes allowed: `sha256`, `sha384`, `sha512` (or `hmac(sha256)` and so on). */
  digests?: readonly string[];
  /** DH groups allowed: `null`, `ffdhe2048`, ..., `ffdhe8192`. */
  dhgroups?: readonly string[];
}

/** A {@linkcode DhchapPolicy} checked: the allowed hashes and groups, strongest first. */
export interface ParsedDhchapPolicy {
  /** Allowed hashes, strongest first. */
  hashes: readonly DhchapHash[];
  /** Allowed DH groups, strongest first. */
  dhgroups: readonly DhGroup[];
}

/** A {@linkcode DhchapPolicy} that cannot be used: which list, and what is wrong with it. */
export class DhchapPolicyError extends RangeError {
  /** The list: `digests` or `dhgroups`. */
  readonly field: "digests" | "dhgroups";
  /** What is wrong, e.g. `"md5": expected sha256, sha384, sha512`. */
  readonly detail: string;

  /**
   * Makes the error; its message names the list as SPDK's parameter (`dhchap_digests`).
   *
   * @param field The list.
   * @param detail What is wrong.
   */
  constructor(field: "digests" | "dhgroups", detail: string) {
    super(`Cannot use dhchap_${field}${detail.startsWith('"') ? " " : ": "}${detail}`);
    this.name = "DhchapPolicyError";
    this.field = field;
    this.detail = detail;
  }
}

/**
 * Checks a {@linkcode DhchapPolicy}.
 *
 * @param policy The policy.
 * @returns The allowed hashes and groups, strongest first.
 * @throws {DhchapPolicyError} Naming the field and the name it does not know, or an empty list.
 */
export function parseDhchapPolicy(policy: DhchapPolicy): ParsedDhchapPolicy {
  const pick = <T extends { name: string }>(
    field: "digests" | "dhgroups",
    names: readonly string[] | undefined,
    all: readonly T[],
    byName: (n: string) => T | undefined,
    known: string,
  ): T[] => {
    if (names === undefined) return [...all].reverse();
    if (!Array.isArray(names) || names.length === 0) {
      throw new DhchapPolicyError(field, `give one or more of ${known}`);
    }
    const chosen = new Set<T>();
    for (const n of names) {
      const item = typeof n === "string" ? byName(n) : undefined;
      if (item === undefined) {
        throw new DhchapPolicyError(field, `${JSON.stringify(n)}: expected ${known}`);
      }
      chosen.add(item);
    }
    return [...all].reverse().filter((x) => chosen.has(x));
  };
  return {
    hashes: pick(
      "digests",
      policy.digests,
      DHCHAP_HASHES,
      hashByName,
      "sha256, sha384, sha512",
    ),
    dhgroups: pick(
      "dhgroups",
      policy.dhgroups,
      DH_GROUPS,
      dhGroupByName,
      "null, ffdhe2048, ffdhe3072, ffdhe4096, ffdhe6144, ffdhe8192",
    ),
  };
}

/**
 * Parses a host's configured keys; errors name the field and never quote a secret.
 *
 * @param keys As configured.
 * @param hostnqn The host, for messages.
 * @returns The settings.
 * @throws {RangeError} If a field is missing or malformed.
 */
export function parseDhchapHostKeys(keys: DhchapHostKeys, hostnqn: string): DhchapHostSettings {
  if (typeof keys?.key !== "string" || keys.key === "") {
    throw new RangeError(
      `Cannot configure DH-HMAC-CHAP for host ${hostnqn}: dhchap_key is missing`,
    );
  }
  const key = parseDhchapSecret(keys.key, `dhchap_key of host ${hostnqn}`);
  const ctrlKey = keys.ctrlKey === undefined || keys.ctrlKey === ""
    ? undefined
    : parseDhchapSecret(keys.ctrlKey, `dhchap_ctrl_key of host ${hostnqn}`);
  const hash = hashByName(keys.hash ?? "hmac(sha256)");
  if (hash === undefined) {
    throw new RangeError(
      `Cannot use dhchap_hash ${JSON.stringify(keys.hash)} of host ${hostnqn}: ` +
        "expected hmac(sha256), hmac(sha384) or hmac(sha512)",
    );
  }
  const dhgroup = dhGroupByName(keys.dhgroup ?? "null");
  if (dhgroup === undefined) {
    throw new RangeError(
      `Cannot use dhchap_dhgroup ${JSON.stringify(keys.dhgroup)} of host ${hostnqn}: ` +
        "expected null, ffdhe2048, ffdhe3072, ffdhe4096, ffdhe6144 or ffdhe8192",
    );
  }
  return {
    key,
    ctrlKey,
    hash,
    dhgroup,
    configured: { hash: keys.hash !== undefined, dhgroup: keys.dhgroup !== undefined },
  };
}

/** A controller's authentication state: settings, NQNs, its one DH key pair (as Linux). */
export class ControllerAuth {
  readonly settings: DhchapHostSettings;
  readonly hostnqn: string;
  readonly subnqn: string;
  /** The target's policy when the controller was made, for what the settings leave open. */
  readonly policy: ParsedDhchapPolicy | undefined;
  readonly #kh: Uint8Array;
  readonly #kc: Uint8Array | undefined;
  readonly #pairs = new Map<number, DhKeyPair>();

  constructor(
    settings: DhchapHostSettings,
    hostnqn: string,
    subnqn: string,
    policy?: ParsedDhchapPolicy,
  ) {
    this.settings = settings;
    this.policy = policy;
    this.hostnqn = hostnqn;
    this.subnqn = subnqn;
    this.#kh = settings.key.transform(hostnqn);
    this.#kc = settings.ctrlKey?.transform(subnqn);
  }

  /** Transformed host key. */
  get kh(): Uint8Array {
    return this.#kh;
  }

  /** Transformed controller key, if configured. */
  get kc(): Uint8Array | undefined {
    return this.#kc;
  }

  /**
   * The controller's DH key pair for a group, made on first use and kept (one per group: under a
   * policy, queues of one controller may negotiate different groups at the same time).
   */
  keyPair(groupId: number): DhKeyPair {
    let pair = this.#pairs.get(groupId);
    if (pair === undefined) {
      pair = new DhKeyPair(groupId);
      this.#pairs.set(groupId, pair);
    }
    return pair;
  }
}

type Step = "negotiate" | "challenge" | "reply" | "success1" | "success2" | "failure1";

/** One queue's transaction. */
export class QueueAuth {
  /** True once a transaction succeeded on this queue. */
  authenticated = false;
  readonly #ctrl: ControllerAuth;
  readonly #qid: number;
  readonly #expiry: number;
  readonly #end: (reason: string) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #step: Step = "negotiate";
  #tid = 0;
  #hash: DhchapHash;
  #group: DhGroup;
  #explanation: number = AuthFailureExplanation.FAILED;
  #failureReason = "";
  #c1: Uint8Array | undefined;
  #s1 = 0;
  #shared: Uint8Array | undefined;
  #c2: Uint8Array | undefined;
  #s2 = 0;
  #done = false;
  #ending = false;

  /**
   * @param ctrl The controller's state.
   * @param qid The queue.
   * @param kato The controller's KATO, ms (0: none).
   * @param end Ends the queue (the admin queue: the controller).
   */
  constructor(ctrl: ControllerAuth, qid: number, kato: number, end: (reason: string) => void) {
    this.#ctrl = ctrl;
    this.#qid = qid;
    this.#hash = ctrl.settings.hash;
    this.#group = ctrl.settings.dhgroup;
    this.#expiry = kato > 0 ? kato : EXPIRY_WITHOUT_KATO;
    this.#end = end;
    this.#arm();
  }

  /** Stops the expiry timer (the queue is gone). */
  dispose(): void {
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#done) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#done || (this.authenticated && this.#step === "negotiate")) return;
      this.#finish(`authentication transaction on queue ${this.#qid} expired`);
    }, this.#expiry);
  }

  #finish(reason: string): void {
    this.authenticated = false;
    this.dispose();
    this.#end(reason);
  }

  #fail(explanation: number, reason: string): void {
    this.#step = "failure1";
    this.#explanation = explanation;
    this.#failureReason = reason;
    this.authenticated = false;
  }

  /**
   * Whether a command may run: Authentication Send/Receive always go to {@linkcode command},
   * anything else only once authenticated.
   */
  isAuthCommand(sqe: Uint8Array): boolean {
    if (sqe[SQE_OPCODE] !== FABRICS_OPCODE) return false;
    const t = fabricsType(sqe);
    return t === FabricsType.AUTHENTICATION_SEND || t === FabricsType.AUTHENTICATION_RECEIVE;
  }

  /**
   * Runs an Authentication Send or Receive.
   *
   * @returns The status, or NO_RESPONSE when the completion went with the data.
   */
  async command(qp: QueuePair, cmd: CommandCapsule): Promise<number> {
    const sqe = cmd.sqe;
    if (fabricsType(sqe) === FabricsType.AUTHENTICATION_SEND) return await this.#send(qp, cmd);
    return await this.#receive(qp, cmd);
  }

  async #send(qp: QueuePair, cmd: CommandCapsule): Promise<number> {
    const c = decodeAuthSend(cmd.sqe);
    if (c.secp !== AUTH_SECP_NVME || c.spsp0 !== AUTH_SPSP_DHCHAP || c.spsp1 !== AUTH_SPSP_DHCHAP) {
      return INVALID_FIELD;
    }
    if (c.tl === 0 || c.tl > MAX_SEND) return INVALID_FIELD;
    if (qp.capsuleDataLength(cmd) !== c.tl) return SGL_LENGTH_INVALID;
    const data = new Uint8Array(c.tl);
    await qp.receiveControllerData(cmd, 0, data);
    let m: AuthMessage;
    try {
      m = decodeAuthMessage(data);
    } catch (e) {
      this.#fail(AuthFailureExplanation.INCORRECT_PAYLOAD, (e as Error).message);
      return SUCCESS;
    }
    this.#handle(m);
    // Progress re-arms the expiry, as Linux; a failed transaction is never kept alive by it.
    if (this.#step !== "failure1") this.#arm();
    return SUCCESS;
  }

  #handle(m: AuthMessage): void {
    if (m.kind === "negotiate") {
      // A new transaction: at the start, or re-authentication of an authenticated queue.
      if (this.#step !== "negotiate") {
        this.#fail(AuthFailureExplanation.INCORRECT_MESSAGE, "AUTH_Negotiate out of order");
        return;
      }
      this.#negotiate(m);
      return;
    }
    if (m.kind === "failure2") {
      this.#finish(`the host ended authentication on queue ${this.#qid} with AUTH_Failure2`);
      return;
    }
    if (m.tid !== this.#tid && this.#step !== "failure1") {
      this.#fail(AuthFailureExplanation.INCORRECT_PAYLOAD, `T_ID ${m.tid} is not ${this.#tid}`);
      return;
    }
    if (m.kind === "reply" && this.#step === "reply") {
      this.#reply(m);
      return;
    }
    if (m.kind === "success2" && this.#step === "success2") {
      this.#succeed();
      return;
    }
    if (this.#step !== "failure1") {
      this.#fail(AuthFailureExplanation.INCORRECT_MESSAGE, `${m.kind} out of order`);
    }
  }

  #negotiate(m: Extract<AuthMessage, { kind: "negotiate" }>): void {
    this.#tid = m.tid;
    this.authenticated = false; // a new transaction must succeed on its own
    if (m.scC !== AuthSecureChannel.NONE) {
      return this.#fail(AuthFailureExplanation.CONCAT_MISMATCH, "secure channel concatenation");
    }
    if (m.napd !== 1) {
      return this.#fail(AuthFailureExplanation.HASH_UNUSABLE, `NAPD ${m.napd}`);
    }
    if (m.authid !== AUTH_DHCHAP_AUTHID) {
      return this.#fail(AuthFailureExplanation.INCORRECT_PAYLOAD, `AUTHID ${m.authid}`);
    }
    const settings = this.#ctrl.settings;
    const policy = this.#ctrl.policy;
    let hash: DhchapHash | undefined;
    if (policy !== undefined && !settings.configured.hash) {
      // As SPDK: the strongest allowed hash the host offers.
      hash = policy.hashes.find((h) => m.hashIds.includes(h.id));
    } else {
      // As Linux: the configured hash, else the first the host offers that is known.
      const offered = m.hashIds.map(hashById).filter((h) => h !== undefined);
      hash = offered.find((h) => h.id === settings.hash.id) ?? offered[0];
    }
    if (hash === undefined) {
      return this.#fail(AuthFailureExplanation.HASH_UNUSABLE, "no usable hash offered");
    }
    let group: DhGroup | undefined;
    if (policy !== undefined && !settings.configured.dhgroup) {
      group = policy.dhgroups.find((g) => m.dhgroupIds.includes(g.id));
      if (group === undefined) {
        return this.#fail(AuthFailureExplanation.DHGROUP_UNUSABLE, "no allowed DH group offered");
      }
    } else if (m.dhgroupIds.includes(settings.dhgroup.id)) {
      group = settings.dhgroup;
    } else {
      // The DH group is never downgraded: the configured one or nothing.
      return this.#fail(
        AuthFailureExplanation.DHGROUP_UNUSABLE,
        `DH group ${settings.dhgroup.name} not offered`,
      );
    }
    this.#hash = hash;
    this.#group = group;
    this.#step = "challenge";
  }

  #reply(m: Extract<AuthMessage, { kind: "reply" }>): void {
    const group = this.#group;
    if (m.response.length !== this.#hash.length) {
      return this.#fail(AuthFailureExplanation.INCORRECT_PAYLOAD, `HL ${m.response.length}`);
    }
    let c1 = this.#c1!;
    if (group.size === 0) {
      if (m.dhValue.length !== 0) {
        return this.#fail(AuthFailureExplanation.INCORRECT_PAYLOAD, "a DH value with no group");
      }
    } else {
      try {
        this.#shared = this.#ctrl.keyPair(group.id).sharedValue(m.dhValue);
      } catch (e) {
        return this.#fail(AuthFailureExplanation.DHGROUP_UNUSABLE, (e as Error).message);
      }
      c1 = augmentedChallenge(this.#hash.id, this.#shared, c1);
    }
    const expected = dhchapResponse({
      hashId: this.#hash.id,
      key: this.#ctrl.kh,
      challenge: c1,
      seqnum: this.#s1,
      tid: this.#tid,
      role: "host",
      hostnqn: this.#ctrl.hostnqn,
      subnqn: this.#ctrl.subnqn,
    });
    if (!responsesEqual(expected, m.response)) {
      return this.#fail(AuthFailureExplanation.FAILED, "the host's response does not match");
    }
    if (m.cvalid && m.seqnum !== 0) {
      if (this.#ctrl.kc === undefined) {
        return this.#fail(AuthFailureExplanation.FAILED, "the host asks for a controller key");
      }
      this.#c2 = m.challenge;
      this.#s2 = m.seqnum;
    } else this.#c2 = undefined;
    this.#step = "success1";
  }

  #succeed(): void {
    this.authenticated = true;
    this.#step = "negotiate";
    this.#c1 = this.#c2 = this.#shared = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #receive(qp: QueuePair, cmd: CommandCapsule): Promise<number> {
    const c = decodeAuthReceive(cmd.sqe);
    if (c.secp !== AUTH_SECP_NVME || c.spsp0 !== AUTH_SPSP_DHCHAP || c.spsp1 !== AUTH_SPSP_DHCHAP) {
      return INVALID_FIELD;
    }
    if (c.al === 0 || c.al > MAX_RECEIVE) return INVALID_FIELD;
    if (qp.capsuleDataLength(cmd) !== c.al) return SGL_LENGTH_INVALID;
    let message: Uint8Array;
    let ending = false;
    switch (this.#step) {
      case "challenge":
        message = this.#challenge();
        this.#step = "reply";
        this.#arm();
        break;
      case "success1":
        message = this.#success1();
        if (this.#c2 !== undefined) {
          this.#step = "success2";
          this.#arm();
        } else this.#succeed();
        break;
      default:
        if (this.#step !== "failure1") {
          this.#fail(AuthFailureExplanation.INCORRECT_MESSAGE, `no message to send now`);
        }
        message = encodeFailure({
          kind: "failure1",
          tid: this.#tid,
          reason: AUTH_FAILURE_REASON_FAILED,
          explanation: this.#explanation,
        });
        ending = true;
    }
    if (message.length > c.al) {
      // The host's buffer cannot take the message: the transaction fails.
      this.#fail(AuthFailureExplanation.INCORRECT_PAYLOAD, `AL ${c.al} is too small`);
      this.#finish(`authentication on queue ${this.#qid} failed: AL ${c.al} is too small`);
      return INVALID_FIELD;
    }
    const data = new Uint8Array(c.al);
    data.set(message);
    if (ending) this.#ending = true;
    const outcome = await qp.sendControllerData(cmd, 0, data, true);
    return outcome === "success-sent" ? NO_RESPONSE : SUCCESS;
  }

  /**
   * Called after each command's completion was handed to the transport: after AUTH_Failure1
   * the queue ends (Linux completes that command, then tears the controller down).
   */
  afterCommand(): void {
    if (!this.#ending || this.#done) return;
    const why = this.#failureReason;
    // One turn later, so that the transport has written the completion.
    setTimeout(
      () => this.#finish(`authentication on queue ${this.#qid} failed${why ? `: ${why}` : ""}`),
      0,
    );
  }

  #challenge(): Uint8Array {
    const group = this.#group;
    this.#c1 = randomChallenge(this.#hash.length);
    this.#s1 = randomSeqnum();
    return encodeChallenge({
      tid: this.#tid,
      hashId: this.#hash.id,
      dhgroupId: group.id,
      seqnum: this.#s1,
      challenge: this.#c1,
      dhValue: group.size === 0 ? new Uint8Array(0) : this.#ctrl.keyPair(group.id).publicValue,
    });
  }

  #success1(): Uint8Array {
    if (this.#c2 === undefined) {
      return encodeSuccess1({
        tid: this.#tid,
        rvalid: false,
        response: new Uint8Array(this.#hash.length),
      });
    }
    const c2 = this.#shared === undefined
      ? this.#c2
      : augmentedChallenge(this.#hash.id, this.#shared, this.#c2);
    const r2 = dhchapResponse({
      hashId: this.#hash.id,
      key: this.#ctrl.kc!,
      challenge: c2,
      seqnum: this.#s2,
      tid: this.#tid,
      role: "controller",
      hostnqn: this.#ctrl.hostnqn,
      subnqn: this.#ctrl.subnqn,
    });
    return encodeSuccess1({ tid: this.#tid, rvalid: true, response: r2 });
  }
}
