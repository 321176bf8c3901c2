/**
 * `nvmf gen-dhchap-key` and `nvmf check-dhchap-key`, as nvme-cli's commands of those names:
 * make a DH-HMAC-CHAP secret `DHHC-1:hh:base64:` (random, or from `--secret` hex; with
 * `--hmac 1..3` the key is transformed by `--nqn` first, as nvme-cli does) and check one
 * (CRC-32, lengths). A checked key is never printed back.
 *
 * @example Usage
 * ```ts
 * import { dhchapCommand } from "./dhchap.ts";
 * import assert from "node:assert/strict";
 * let out = "";
 * const io = { stdout: (t: string) => out += t, stderr: () => {} };
 * assert.equal(await dhchapCommand("gen-dhchap-key", [], io), 0);
 * assert.match(out, /^DHHC-1:00:[A-Za-z0-9+/=]{48}:\n$/);
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
import { defaultKeyLength, generateDhchapSecret, parseDhchapSecret } from "@nvmf/auth";

/** Where output goes. */
export interface DhchapIo {
  /** Normal output. */
  stdout(text: string): void;
  /** Errors. */
  stderr(text: string): void;
}

/** The commands' help. */
export const DHCHAP_USAGE: Record<string, string> = {
  "gen-dhchap-key": `Usage: nvmf gen-dhchap-key [-s HEX] [-l 32|48|64] [-m 0|1|2|3] [-n NQN]
  -s, --secret HEX       the key in hex instead of a random one
  -l, --key-length N     key length in bytes (default 32; 48 for -m 2, 64 for -m 3)
  -m, --hmac N           0 none (default), 1 SHA-256, 2 SHA-384, 3 SHA-512: the key transform
  -n, --nqn NQN          host NQN the key is transformed with (required with -m 1..3)
`,
  "check-dhchap-key": `Usage: nvmf check-dhchap-key -k SECRET [-o normal|json]
  -k, --key SECRET       the secret DHHC-1:hh:base64: to check
`,
};

/**
 * Runs `gen-dhchap-key` or `check-dhchap-key`.
 *
 * @param command The command name.
 * @param args Its flags.
 * @param io Output.
 * @returns The exit code: 0, 1 invalid key, 2 usage error.
 */
export function dhchapCommand(command: string, args: string[], io: DhchapIo): Promise<number> {
  return Promise.resolve(run(command, args, io));
}

function run(command: string, args: string[], io: DhchapIo): number {
  const usage = DHCHAP_USAGE[command];
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: command === "gen-dhchap-key"
        ? {
          secret: { type: "string", short: "s" },
          "key-length": { type: "string", short: "l" },
          hmac: { type: "string", short: "m" },
          nqn: { type: "string", short: "n" },
          help: { type: "boolean", short: "h" },
        }
        : {
          key: { type: "string", short: "k" },
          "output-format": { type: "string", short: "o" },
          help: { type: "boolean", short: "h" },
        },
    }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    // parseArgs quotes unknown flags only, never values.
    io.stderr(`nvmf ${command}: ${(e as Error).message.split("\n")[0]}\n${usage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  const usageError = (message: string) => {
    io.stderr(`nvmf ${command}: ${message}\n${usage}`);
    return 2;
  };
  if (command === "check-dhchap-key") {
    const format = (values["output-format"] as string | undefined) ?? "normal";
    if (format !== "normal" && format !== "json") {
      return usageError(`Cannot use -o ${format}: expected normal or json`);
    }
    if (typeof values.key !== "string") {
      return usageError("Cannot check a key: -k/--key is required");
    }
    try {
      const s = parseDhchapSecret(values.key, "the key");
      const hmac = ["none", "sha256", "sha384", "sha512"][s.hmacId];
      io.stdout(
        format === "json"
          ? `${JSON.stringify({ valid: true, hmac, keyLength: s.keyLength })}\n`
          : `Key is valid (HMAC ${hmac}, ${s.keyLength} bytes, CRC-32 correct)\n`,
      );
      return 0;
    } catch (e) {
      if (format === "json") {
        io.stdout(`${JSON.stringify({ valid: false, error: (e as Error).message })}\n`);
      } else io.stderr(`nvmf ${command}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const hmacText = (values.hmac as string | undefined) ?? "0";
  if (!/^[0-3]$/.test(hmacText)) {
    return usageError(`Cannot use --hmac ${hmacText}: expected 0 to 3`);
  }
  const hmacId = Number(hmacText);
  let keyLength: number | undefined;
  if (values["key-length"] !== undefined) {
    keyLength = Number(values["key-length"]);
    if (![32, 48, 64].includes(keyLength)) {
      return usageError(`Cannot use --key-length ${values["key-length"]}: expected 32, 48 or 64`);
    }
  }
  let key: Uint8Array | undefined;
  if (values.secret !== undefined) {
    const hex = values.secret as string;
    if (!/^([0-9a-fA-F]{2})+$/.test(hex)) return usageError("Cannot use --secret: not hex digits");
    key = new Uint8Array(Buffer.from(hex, "hex"));
    if (![32, 48, 64].includes(key.length)) {
      return usageError(`Cannot use --secret: ${key.length} bytes, expected 32, 48 or 64`);
    }
    if (keyLength !== undefined && keyLength !== key.length) {
      return usageError(`Cannot use --secret: ${key.length} bytes, --key-length says ${keyLength}`);
    }
  }
  const nqn = values.nqn as string | undefined;
  if (hmacId > 0) {
    // As nvme-cli: the key is the digest of the transform, so its length is the digest's.
    const length = keyLength ?? key?.length ?? defaultKeyLength(hmacId);
    if (length !== defaultKeyLength(hmacId)) {
      return usageError(
        `Cannot use a ${length}-byte key with --hmac ${hmacId}: it must be ${
          defaultKeyLength(hmacId)
        }`,
      );
    }
    if (nqn === undefined) {
      return usageError(`Cannot transform the key: --nqn is required with --hmac ${hmacId}`);
    }
  }
  const secret = generateDhchapSecret({ hmacId, keyLength, key, nqn });
  io.stdout(`${secret.reveal()}\n`);
  return 0;
}
