/**
 * Writes the job scripts' argument contracts, generated from the pipeline declarations, into the
 * CONTRACTS block of `scripts/glue_etl_common.py`: the module every job already ships with, so the
 * contracts reach Glue with no upload of their own.
 *
 *   npx ts-node --transpile-only tools/contracts.ts           rewrite the block
 *   npx ts-node --transpile-only tools/contracts.ts --check   exit 1 when it is stale
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RESERVED_ARGUMENTS } from "../lib/arguments";
import { PipelineDeclaration, scriptKey } from "../lib/declaration";
import { METRIC_ARGUMENTS } from "../lib/observability";
import { PIPELINES } from "../pipelines";

export const COMMON_MODULE = path.join(__dirname, "..", "scripts", "glue_etl_common.py");
const BEGIN = "# BEGIN GENERATED CONTRACTS";
const END = "# END GENERATED CONTRACTS";

const bare = (key: string) => key.replace(/^--/, "");

/** What the scripts need of each contract: names without `--`, required, optional with defaults. */
export function contractsDocument(pipelines: readonly PipelineDeclaration[]): object {
  return {
    // Glue passes these itself; a local run may give --JOB_NAME as Glue would.
    reservedArguments: RESERVED_ARGUMENTS.filter((k) => /^--[A-Z]/.test(k)).map(bare),
    // The job component passes these to every job (where its run metrics go).
    metricArguments: METRIC_ARGUMENTS.map(bare),
    scripts: Object.fromEntries(
      pipelines.map((p) => {
        const args = Object.entries(p.job.arguments);
        return [
          scriptKey(p.job),
          {
            pipeline: p.name,
            required: args.filter(([, a]) => a.required).map(([k]) => bare(k)),
            optional: Object.fromEntries(
              args.filter(([, a]) => !a.required).map(([k, a]) => [bare(k), a.default ?? null]),
            ),
          },
        ];
      }),
    ),
  };
}

/** The generated block, markers included. */
export function contractsBlock(pipelines: readonly PipelineDeclaration[]): string {
  const json = JSON.stringify(contractsDocument(pipelines), null, 2);
  if (json.includes('"""')) throw new Error("a contract contains three double quotes in a row");
  return [
    BEGIN,
    "# From the pipeline declarations (pipelines/*.ts) by `npm run contracts`; do not edit.",
    'CONTRACTS: dict[str, Any] = json.loads(r"""',
    json,
    '""")',
    END,
  ].join("\n");
}

/** The block as committed in the module's text. */
export function committedBlock(text: string): string | undefined {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  return start < 0 || end < start ? undefined : text.slice(start, end + END.length);
}

if (require.main === module) {
  const text = fs.readFileSync(COMMON_MODULE, "utf8");
  const current = committedBlock(text);
  const wanted = contractsBlock(PIPELINES);
  const file = path.relative(process.cwd(), COMMON_MODULE);
  if (current === undefined) {
    console.error(`error: ${file} has no "${BEGIN}" … "${END}" block to write the contracts into`);
    process.exit(2);
  }
  if (process.argv.includes("--check")) {
    if (current !== wanted) {
      console.error(`error: the contracts in ${file} are stale; run npm run contracts`);
      process.exit(1);
    }
    console.log(`${file}: contracts up to date`);
  } else if (current !== wanted) {
    fs.writeFileSync(COMMON_MODULE, text.replace(current, wanted));
    console.log(`${file}: contracts rewritten`);
  } else {
    console.log(`${file}: contracts up to date`);
  }
}
