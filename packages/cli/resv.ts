/**
 * The reservation commands of the `nvmf` tool, with nvme-cli's flags: `resv-register`,
 * `resv-acquire`, `resv-release`, `resv-report` (NVM Express Base 2.0 8.19).
 *
 * nvme-cli's long flags all work (`--namespace-id`, `--crkey`, `--nrkey`, `--prkey`, `--rtype`,
 * `--rrega`, `--racqa`, `--rrela`, `--cptpl`, `--iekey`, `--eds`, `-o json`). Of its short
 * flags, `-c` (crkey), `-p` (cptpl of resv-register, prkey of resv-acquire), `-r` (rrega) and
 * `-e` (eds) work as in nvme-cli; `-n`, `-k`, `-t`, `-a` and `-i` keep their meaning in this
 * tool (subsystem NQN, keep-alive, transport, address, I/O queues), as nvme-cli addresses a
 * device where this tool connects.
 *
 * @module
 */

import type { HostController } from "@nvmf/host";
import {
  ReservationAcquireAction,
  ReservationRegisterAction,
  ReservationReleaseAction,
  type ReservationStatus,
} from "@nvmf/proto";

/** The flags of the reservation commands (long names, as nvme-cli). */
export const RESV_OPTIONS = {
  crkey: { type: "string" },
  nrkey: { type: "string" },
  prkey: { type: "string" },
  rtype: { type: "string" },
  rrega: { type: "string" },
  racqa: { type: "string" },
  rrela: { type: "string" },
  cptpl: { type: "string" },
  iekey: { type: "boolean" },
  eds: { type: "boolean" },
} as const;

const RTYPES = "rtype: 1 Write Exclusive, 2 Exclusive Access, 3/4 the same Registrants Only, " +
  "5/6 the same All Registrants";

/** Summary and usage of each reservation command, for `nvmf help`. */
export const RESV_COMMANDS: Record<string, { summary: string; usage: string }> = {
  "resv-register": {
    summary: "Reservation Register: register (0), unregister (1) or replace (2) a key",
    usage:
      "resv-register -a ADDR -n NQN [--namespace-id NSID] [--crkey KEY|-c KEY] [--nrkey KEY] [--rrega 0-2|-r N] [--cptpl 0|2|-p N] [--iekey]",
  },
  "resv-acquire": {
    summary: "Reservation Acquire: acquire (0), preempt (1), preempt and abort (2)",
    usage:
      "resv-acquire -a ADDR -n NQN [--namespace-id NSID] --crkey KEY [--prkey KEY|-p KEY] --rtype 1-6 [--racqa 0-2] [--iekey]",
  },
  "resv-release": {
    summary: "Reservation Release: release (0) or clear (1)",
    usage:
      "resv-release -a ADDR -n NQN [--namespace-id NSID] --crkey KEY [--rtype 1-6] [--rrela 0|1] [--iekey]",
  },
  "resv-report": {
    summary: "Reservation Report: the reservation and its registrants",
    usage: "resv-report -a ADDR -n NQN [--namespace-id NSID] [--eds|-e]",
  },
};

/** Help text of the reservation flags. */
export const RESV_HELP = `Reservation flags (nvme-cli's):
      --namespace-id NSID     namespace (default 1)
  -c, --crkey KEY             current reservation key (decimal or 0x hex, 64-bit)
      --nrkey KEY             new reservation key (resv-register)
  -p, --prkey KEY             key to preempt (resv-acquire)
      --rtype N               ${RTYPES}
  -r, --rrega N               0 register, 1 unregister, 2 replace
      --racqa N               0 acquire, 1 preempt, 2 preempt and abort
      --rrela N               0 release, 1 clear
  -p, --cptpl N               (resv-register) 0 no change, 2 clear PTPL; 3 (set) is refused:
                              reservations do not persist through power loss
      --iekey                 ignore existing key
  -e, --eds                   extended data structure (the only one NVMe over Fabrics has)`;

const SHORT: Record<string, Record<string, string>> = {
  "resv-register": { "-c": "--crkey", "-p": "--cptpl", "-r": "--rrega" },
  "resv-acquire": { "-c": "--crkey", "-p": "--prkey" },
  "resv-release": { "-c": "--crkey" },
  "resv-report": { "-e": "--eds" },
};

/**
 * Rewrites nvme-cli's short flags of a reservation command into their long names.
 *
 * @param command The subcommand.
 * @param args Its arguments.
 * @returns The arguments to parse.
 */
export function resvArgs(command: string, args: string[]): string[] {
  const map = SHORT[command];
  if (map === undefined) return args;
  return args.map((a) => map[a] ?? a);
}

/** The reservation flags a handler reads. */
export type ResvFlags = { [K in keyof typeof RESV_OPTIONS]?: string | boolean } & {
  "namespace-id"?: string;
};

/** What the handlers need of the tool. */
export interface ResvKit {
  /** Connects with the command line's connection flags, runs, closes. */
  withController<T>(flags: ResvFlags, run: (ctrl: HostController) => Promise<T>): Promise<T>;
  /** The NSID of `--namespace-id` (default 1). */
  nsid(flags: ResvFlags): number;
  /** A usage error (exit code 2). */
  usage(message: string): Error;
  /** Pretty JSON. */
  json(value: unknown): string;
}

/** Where the handlers write. */
export interface ResvIo {
  /** Standard output. */
  stdout(text: string): void;
}

function key(flags: ResvFlags, name: "crkey" | "nrkey" | "prkey", kit: ResvKit): bigint {
  const raw = flags[name];
  if (raw === undefined || typeof raw === "boolean") return 0n;
  let value: bigint;
  try {
    value = BigInt(raw.trim());
  } catch {
    throw kit.usage(`Cannot use --${name} ${raw}: expected a decimal or 0x hex number`);
  }
  if (value < 0n || value >= 1n << 64n) {
    throw kit.usage(`Cannot use --${name} ${raw}: a key is 0 to 2^64 - 1`);
  }
  return value;
}

function small(flags: ResvFlags, name: keyof typeof RESV_OPTIONS, max: number, kit: ResvKit) {
  const raw = flags[name];
  if (raw === undefined || typeof raw === "boolean") return undefined;
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw kit.usage(`Cannot use --${name} ${raw}: expected 0 to ${max}`);
  }
  return n;
}

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The Reservation Status as nvme-cli's `resv-report` prints it.
 *
 * @param s The status.
 * @returns The text.
 */
export function reportText(s: ReservationStatus): string {
  let text = `NVME Reservation status:\n\ngen       : ${s.generation}\nrtype     : ${s.rtype}\n` +
    `regctl    : ${s.regctl ?? s.registrants.length}\nptpls     : ${s.ptpls ? 1 : 0}\n`;
  s.registrants.forEach((r, i) => {
    text += `\nregctlext[${i}] :\n  cntlid     : ${r.cntlid.toString(16)}\n` +
      `  rcsts      : ${r.holder ? 1 : 0}\n  rkey       : 0x${r.rkey.toString(16)}\n` +
      `  hostid     : ${hex(r.hostid)}\n`;
  });
  return text;
}

/**
 * The Reservation Status as `-o json` prints it (nvme-cli's field names; keys as numbers when
 * safe integers, else strings).
 *
 * @param s The status.
 * @returns A JSON-ready object.
 */
export function reportJson(s: ReservationStatus): Record<string, unknown> {
  const num = (v: bigint) => v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  return {
    gen: s.generation,
    rtype: s.rtype,
    regctl: s.regctl ?? s.registrants.length,
    ptpls: s.ptpls ? 1 : 0,
    regctlext: s.registrants.map((r) => ({
      cntlid: r.cntlid,
      rcsts: r.holder ? 1 : 0,
      rkey: num(r.rkey),
      hostid: hex(r.hostid),
    })),
  };
}

/**
 * The handlers of the reservation commands.
 *
 * @param kit The tool's helpers.
 * @returns Handlers by command name; each resolves with the exit code.
 */
export function resvHandlers(
  kit: ResvKit,
): Record<string, (flags: ResvFlags, io: ResvIo, json: boolean) => Promise<number>> {
  const done = (io: ResvIo, json: boolean, what: string) => {
    io.stdout(
      json ? kit.json({ result: "success", command: what }) + "\n" : `NVME ${what}: Success\n`,
    );
    return 0;
  };
  return {
    "resv-register": (flags, io, json) =>
      kit.withController(flags, async (ctrl) => {
        const ns = await ctrl.namespace(kit.nsid(flags));
        await ns.reservationRegister({
          action: small(flags, "rrega", 7, kit) ?? ReservationRegisterAction.REGISTER,
          crkey: key(flags, "crkey", kit),
          nrkey: key(flags, "nrkey", kit),
          iekey: flags.iekey === true,
          cptpl: small(flags, "cptpl", 3, kit) ?? 0,
        });
        return done(io, json, "Reservation Register");
      }),
    "resv-acquire": (flags, io, json) =>
      kit.withController(flags, async (ctrl) => {
        const rtype = small(flags, "rtype", 255, kit);
        if (rtype === undefined) throw kit.usage(`Cannot acquire: --rtype is required (${RTYPES})`);
        const ns = await ctrl.namespace(kit.nsid(flags));
        await ns.reservationAcquire({
          action: small(flags, "racqa", 7, kit) ?? ReservationAcquireAction.ACQUIRE,
          rtype,
          crkey: key(flags, "crkey", kit),
          prkey: key(flags, "prkey", kit),
          iekey: flags.iekey === true,
        });
        return done(io, json, "Reservation Acquire");
      }),
    "resv-release": (flags, io, json) =>
      kit.withController(flags, async (ctrl) => {
        const ns = await ctrl.namespace(kit.nsid(flags));
        await ns.reservationRelease({
          action: small(flags, "rrela", 7, kit) ?? ReservationReleaseAction.RELEASE,
          rtype: small(flags, "rtype", 255, kit) ?? 0,
          crkey: key(flags, "crkey", kit),
          iekey: flags.iekey === true,
        });
        return done(io, json, "Reservation Release");
      }),
    "resv-report": (flags, io, json) =>
      kit.withController(flags, async (ctrl) => {
        const ns = await ctrl.namespace(kit.nsid(flags));
        // NVMe over Fabrics host identifiers are 128-bit: the extended structure is the one a
        // controller can return, so it is used even without --eds.
        const status = await ns.reservationReport({ extended: true });
        io.stdout(json ? kit.json(reportJson(status)) + "\n" : reportText(status));
        return 0;
      }),
  };
}
