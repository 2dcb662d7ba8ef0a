/**
 * The registry: every declaration in this folder, one file per pipeline (`<name>.ts`, exporting
 * `default definePipeline({...})`). Adding a file adds the pipeline to the program, the config
 * validation, the job-run CLI and the scripts' argument contracts; nothing else lists pipelines.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  JobContract,
  PipelineDeclaration,
  checkDeclarations,
  glueJobName as jobNameOf,
} from "../lib/declaration";

// The job-run CLI's bundler sets this to the folder's files, since a bundle cannot list a folder.
declare const __GLUE_ETL_PIPELINE_FILES__: readonly string[] | undefined;

/** The declaration files of this folder: `<name>.ts`, not this file. */
export function declarationFiles(dir = __dirname): string[] {
  if (typeof __GLUE_ETL_PIPELINE_FILES__ !== "undefined") return [...__GLUE_ETL_PIPELINE_FILES__];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && f !== "index.ts")
    .sort();
}

function load(): PipelineDeclaration[] {
  const entries = declarationFiles().map((file) => {
    // The template literal lets the CLI's bundler include every file of this folder.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the folder is the registry
    const mod = require(`./${file}`) as { default?: unknown };
    return { file, declaration: mod.default };
  });
  const scripts = path.join(__dirname, "..", "scripts");
  // Inside the CLI bundle the scripts folder is not at hand; the program checks scripts exist.
  const bundled = typeof __GLUE_ETL_PIPELINE_FILES__ !== "undefined";
  return checkDeclarations(entries, (s) => bundled || fs.existsSync(path.join(scripts, s)));
}

/** Every pipeline, in order (see `order`). */
export const PIPELINES: readonly PipelineDeclaration[] = load();

/** A pipeline's name; any name of {@link PIPELINE_NAMES}. */
export type PipelineName = string;
export const PIPELINE_NAMES: readonly PipelineName[] = PIPELINES.map((p) => p.name);

/** Each pipeline's job argument contract, by pipeline name. */
export const JOBS: Readonly<Record<PipelineName, JobContract>> = Object.fromEntries(
  PIPELINES.map((p) => [p.name, p.job]),
);

export function pipelineNamed(name: string): PipelineDeclaration | undefined {
  return PIPELINES.find((p) => p.name === name);
}

/** The Glue job's name in an environment: `csv_to_parquet_genomic_data-dev`. */
export function glueJobName(pipeline: PipelineName, environment: string): string {
  const p = pipelineNamed(pipeline);
  if (!p) throw new Error(`no pipeline named ${JSON.stringify(pipeline)}`);
  return jobNameOf(p.job, environment);
}
