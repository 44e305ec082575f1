// Writes a measured section into the README between its markers, so that the figures there
// come from a command and are never copied by hand.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./processes";

/** Replaces what stands between `<!-- {name}:begin -->` and `<!-- {name}:end -->`. */
export function spliceReadme(name: string, section: string): void {
  const [begin, end] = [`<!-- ${name}:begin -->`, `<!-- ${name}:end -->`];
  const readme = join(ROOT, "README.md");
  const text = readFileSync(readme, "utf8");
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${begin} … ${end} markers`);
  writeFileSync(readme, `${text.slice(0, from + begin.length)}\n${section}\n${text.slice(to)}`);
}
