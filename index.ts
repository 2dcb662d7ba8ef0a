/**
 * The glue-etl program: reads the stack's config (the only place that does), validates all of it
 * before registering anything, then declares one EtlPipeline per pipeline.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { EtlPipeline } from "./components/pipeline";
import { RawStackConfig, StackSettings, jobDpus, validateStackConfig } from "./lib/config";
import { JOBS, PipelineName, glueJobName } from "./lib/jobs";

const config = new pulumi.Config();

/** A config value as the user wrote it: JSON where it parses, else the plain string. */
function raw(cfg: pulumi.Config, key: string): unknown {
  const value = cfg.get(key);
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const rawConfig: RawStackConfig = {
  region: new pulumi.Config("aws").get("region"),
  environment: config.get("environment"),
  owner: config.get("owner"),
  costCenter: config.get("costCenter"),
  tags: raw(config, "tags"),
  alertEmails: raw(config, "alertEmails"),
  tempExpirationDays: raw(config, "tempExpirationDays"),
  sizing: raw(config, "sizing"),
  pipelines: raw(config, "pipelines"),
};
const settings: StackSettings = validateStackConfig(rawConfig);

const scriptsDir = path.join(__dirname, "scripts");
const commonModule = path.join(scriptsDir, "glue_etl_common.py");

/** The parts every pipeline shares: naming, script, sizing, tags. */
function base(pipeline: PipelineName) {
  const spec = JOBS[pipeline];
  return {
    environment: settings.environment,
    jobName: glueJobName(pipeline, settings.environment),
    description: spec.description,
    scriptPath: path.join(scriptsDir, spec.script),
    pyFiles: [commonModule],
    settings: settings.pipelines[pipeline],
    tempExpirationDays: settings.tempExpirationDays,
    tags: { ...settings.tags, pipeline },
  };
}

const deployed: Partial<Record<PipelineName, EtlPipeline>> = {};

if (settings.pipelines.genomics.enabled) {
  deployed.genomics = new EtlPipeline("genomics", {
    ...base("genomics"),
    inputPrefix: "csv/",
    arguments: {
      "--INPUT_PATH": "{raw}/csv/*.csv",
      "--OUTPUT_PATH": "{processed}/genomics/",
      "--REJECTED_PATH": "{processed}/genomics/_rejected/",
    },
  });
}

export const environment = settings.environment;
export const region = settings.region;
/** Per pipeline: what operators and the job-run CLI need. */
export const pipelines = Object.fromEntries(
  Object.entries(deployed).map(([name, p]) => {
    const s = settings.pipelines[name as PipelineName].sizing;
    return [
      name,
      {
        jobName: p.job.name,
        roleArn: p.role.arn,
        buckets: p.bucketNames,
        scriptLocation: p.job.scriptLocation,
        securityConfiguration: p.security.securityConfiguration.name,
        maxConcurrentRuns: s.maxConcurrentRuns,
        capacity: `${s.numberOfWorkers} x ${s.workerType} (${jobDpus(s)} DPU, ${s.executionClass})`,
      },
    ];
  }),
);
