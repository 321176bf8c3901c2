/**
 * Sums the self time per function of a V8 `.cpuprofile` (what `deno run --cpu-prof` writes)
 * and prints the top entries, with the share of all samples and of non-idle samples.
 *
 * Usage: `deno run -A bench/profile.ts PROFILE.cpuprofile [TOP=30] [--by-file]`
 *
 * @module
 */

/** One node of a `.cpuprofile`. */
export interface ProfileNode {
  /** Node id, as `samples` name it. */
  id: number;
  /** The function: name, script URL, 0-based line. */
  callFrame: { functionName: string; url: string; lineNumber: number };
  /** Child node ids. */
  children?: number[];
}

/** The `.cpuprofile` layout (the parts used). */
export interface CpuProfile {
  /** The call tree. */
  nodes: ProfileNode[];
  /** The node sampled at each tick. */
  samples: number[];
  /** Microseconds since the previous sample. */
  timeDeltas: number[];
}

/** Self time of one function. */
export interface SelfTime {
  /** `name file:line`. */
  key: string;
  /** Microseconds. */
  us: number;
}

const IDLE = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/**
 * Self time per function (or per file) of a profile.
 *
 * @param profile The parsed `.cpuprofile`.
 * @param byFile Group by script instead of function.
 * @returns Entries, largest first, and the total and non-idle microseconds.
 * @example Usage
 * ```ts
 * import { selfTimes } from "./profile.ts";
 * import assert from "node:assert/strict";
 * const profile = {
 *   nodes: [{ id: 1, callFrame: { functionName: "f", url: "file:///a.ts", lineNumber: 0 } }],
 *   samples: [1, 1],
 *   timeDeltas: [5, 7],
 * };
 * assert.equal(selfTimes(profile).entries[0].us, 12);
 * ```
 */
export function selfTimes(
  profile: CpuProfile,
  byFile = false,
): { entries: SelfTime[]; total: number; busy: number } {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const sums = new Map<string, number>();
  let total = 0;
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(profile.samples[i]);
    if (node === undefined) continue;
    const f = node.callFrame;
    const file = f.url.replace(/^.*\/(packages|bench)\//, "$1/").replace(/^ext:/, "ext:");
    const name = f.functionName || "(anonymous)";
    const key = byFile
      ? (IDLE.has(name) ? name : file || "(native)")
      : `${name} ${file}${file ? `:${f.lineNumber + 1}` : ""}`;
    sums.set(key, (sums.get(key) ?? 0) + dt);
    total += dt;
    if (!IDLE.has(name)) busy += dt;
  }
  const entries = [...sums].map(([key, us]) => ({ key, us })).sort((a, b) => b.us - a.us);
  return { entries, total, busy };
}

if (import.meta.main) {
  const [path, topArg] = Deno.args.filter((a) => !a.startsWith("--"));
  if (path === undefined) {
    console.error("Usage: deno run -A bench/profile.ts PROFILE.cpuprofile [TOP] [--by-file]");
    Deno.exit(2);
  }
  const profile = JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
  const { entries, total, busy } = selfTimes(profile, Deno.args.includes("--by-file"));
  const top = Number(topArg ?? 30);
  console.log(
    `total ${(total / 1000).toFixed(0)} ms, busy (not idle/program/GC) ${
      (busy / 1000).toFixed(0)
    } ms`,
  );
  for (const e of entries.slice(0, top)) {
    const pct = (100 * e.us / total).toFixed(1).padStart(5);
    console.log(`${pct}%  ${(e.us / 1000).toFixed(1).padStart(8)} ms  ${e.key}`);
  }
}
