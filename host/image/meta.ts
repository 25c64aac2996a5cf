// The build description (meta JSON) for `image build`: what goes in the
// header besides app_len, which the builder computes. Unknown keys are
// errors, so a typo ("hwId") cannot silently leave a field empty.
import type { HeaderFields, TextKey } from "./header.ts";

export type ImageMeta = Omit<HeaderFields, "appLen">;

const TEXT_KEYS: readonly TextKey[] = ["appName", "gitBranch", "gitCommit", "buildDate", "hwid", "subHwid", "kernelRev"];
const KNOWN = new Set<string>([...TEXT_KEYS, "version", "major", "minor", "build", "gitFlag"]);
/** Without these an image is useless: FND shows the name and version, the device checks hwid. */
const REQUIRED_TEXT: readonly TextKey[] = ["appName", "hwid"];

/** Parses meta JSON; `source` names it in error messages. Range and length checks happen in buildHeader. */
export function parseMeta(json: string, source: string): ImageMeta {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new Error(`${source}: expected a JSON object`);
  const m = data as Record<string, unknown>;
  for (const k of Object.keys(m)) {
    if (!KNOWN.has(k)) throw new Error(`${source}: unknown key "${k}" (known: ${[...KNOWN].join(", ")})`);
  }
  const text = {} as Record<TextKey, string>;
  for (const k of TEXT_KEYS) {
    const v = m[k] ?? "";
    if (typeof v !== "string") throw new Error(`${source}: ${k} must be a string`);
    if (v === "" && REQUIRED_TEXT.includes(k)) throw new Error(`${source}: ${k} is required`);
    text[k] = v;
  }
  return { ...text, ...version(m, source), gitFlag: integer(m.gitFlag ?? 0, "gitFlag", source) };
}

/** "6.9.99", or major/minor/build given separately; exactly one of the two. */
function version(m: Record<string, unknown>, source: string): Pick<ImageMeta, "appRevMajor" | "appRevMinor" | "appBuild"> {
  const parts = ["major", "minor", "build"].filter((k) => k in m);
  if ("version" in m) {
    if (parts.length) throw new Error(`${source}: give either version or major/minor/build, not both`);
    const v = /^(\d+)\.(\d+)\.(\d+)$/.exec(String(m.version));
    if (typeof m.version !== "string" || !v) throw new Error(`${source}: version must look like "6.9.99", got ${JSON.stringify(m.version)}`);
    return { appRevMajor: Number(v[1]), appRevMinor: Number(v[2]), appBuild: Number(v[3]) };
  }
  if (parts.length !== 3) throw new Error(`${source}: version is required ("6.9.99", or major, minor and build)`);
  return {
    appRevMajor: integer(m.major, "major", source),
    appRevMinor: integer(m.minor, "minor", source),
    appBuild: integer(m.build, "build", source),
  };
}

function integer(v: unknown, key: string, source: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`${source}: ${key} must be an integer, got ${JSON.stringify(v)}`);
  return v;
}
