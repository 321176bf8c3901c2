// Checks that tsconfig.json (which only Bun reads) maps every export of every workspace
// package, exactly as deno.json's workspace resolves it; prints what is missing or stale.
import { readFileSync } from "node:fs";

const root = new URL("../", import.meta.url);
const read = (p) => JSON.parse(readFileSync(new URL(p, root), "utf8"));
const want = {};
for (const member of read("deno.json").workspace) {
  if (!member.startsWith("./packages/")) continue;
  const pkg = read(`${member}/deno.json`);
  for (const [key, file] of Object.entries(pkg.exports)) {
    want[pkg.name + (key === "." ? "" : key.slice(1))] = `${member}/${file.slice(2)}`;
  }
}
const have = read("tsconfig.json").compilerOptions.paths;
const problems = [];
for (const [name, file] of Object.entries(want)) {
  if (have[name]?.[0] !== file) problems.push(`missing or wrong: "${name}": ["${file}"]`);
}
for (const name of Object.keys(have)) if (!(name in want)) problems.push(`stale: "${name}"`);
if (problems.length > 0) {
  console.error(`tsconfig.json paths do not match the packages' exports:\n${problems.join("\n")}`);
  process.exit(1);
}
console.log(`tsconfig.json maps all ${Object.keys(want).length} package exports`);
