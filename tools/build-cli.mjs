// Bundles the job-run CLI (cli/glue.ts and what it imports, AWS SDK included) into one
// JavaScript file, so that `npm run glue` starts without compiling TypeScript first.
//
//   node tools/build-cli.mjs             build dist/glue.js (npm runs this on install: "prepare")
//   node tools/build-cli.mjs --if-stale  build only when a source the bundle was made from changed
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BUNDLE = path.join(root, "dist", "glue.js");
/** The repo's own files the bundle was built from; packages count through the lock file. */
const INPUTS = path.join(root, "dist", "glue.inputs.json");

/** True when the bundle is missing or older than any file it was built from. */
export function isStale() {
  try {
    const built = fs.statSync(BUNDLE).mtimeMs;
    const inputs = JSON.parse(fs.readFileSync(INPUTS, "utf8"));
    // A removed or renamed source throws here: stale too.
    return inputs.some((f) => fs.statSync(path.join(root, f)).mtimeMs > built);
  } catch {
    return true;
  }
}

/** The pipeline declarations (`pipelines/<name>.ts`): a bundle cannot list a folder at run time. */
function pipelineFiles() {
  return fs
    .readdirSync(path.join(root, "pipelines"))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && f !== "index.ts")
    .sort();
}

export async function build() {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ["cli/glue.ts"],
    outfile: BUNDLE,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: "warning",
    define: { __GLUE_ETL_PIPELINE_FILES__: JSON.stringify(pipelineFiles()) },
  });
  const own = Object.keys(result.metafile.inputs).filter((f) => !f.includes("node_modules/"));
  // The folder itself too: adding a declaration changes its modification time.
  const inputs = [...own, "pipelines", "package-lock.json", "tools/build-cli.mjs"];
  fs.writeFileSync(INPUTS, `${JSON.stringify(inputs, null, 1)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!process.argv.includes("--if-stale") || isStale()) await build();
}
