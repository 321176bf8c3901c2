/**
 * The target daemon's log lines: text (the default), or with `--log-format json` one JSON
 * object per line with `time` (ISO 8601), `level`, `event` and `fields`. Callers pass fields
 * that hold no secret; nothing here looks inside them.
 *
 * @example Usage
 * ```ts
 * import { makeLogger } from "@nvmf/cli/log";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const log = makeLogger("json", (line) => lines.push(line));
 * log("info", "controller-created", { cntlid: 1 }, "controller 1 created");
 * const entry = JSON.parse(lines[0]);
 * assert.equal(entry.event, "controller-created");
 * assert.deepEqual(entry.fields, { cntlid: 1 });
 * ```
 *
 * @module
 */

/** Log levels. */
export type LogLevel = "info" | "warn" | "error";

/** Log formats of `--log-format`. */
export type LogFormat = "text" | "json";

/**
 * Writes one log line.
 *
 * @param level Its level.
 * @param event A short kebab-case name of what happened.
 * @param fields What it concerns (no secrets).
 * @param text The line in the text format; default the event and its fields.
 */
export type Logger = (
  level: LogLevel,
  event: string,
  fields: Record<string, unknown>,
  text?: string,
) => void;

/**
 * Makes a logger.
 *
 * @param format Text or JSON lines.
 * @param write Writes one line.
 * @returns The logger.
 */
export function makeLogger(
  format: LogFormat,
  write: (line: string, level: LogLevel) => void,
): Logger {
  return (level, event, fields, text) => {
    if (format === "json") {
      write(
        JSON.stringify(
          { time: new Date().toISOString(), level, event, fields },
          (_, v) => typeof v === "bigint" ? v.toString() : v,
        ),
        level,
      );
      return;
    }
    write(
      text ??
        `${event}: ${
          Object.entries(fields).map(([k, v]) =>
            `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
          )
            .join(" ")
        }`,
      level,
    );
  };
}
