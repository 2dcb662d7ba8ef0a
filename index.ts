/**
 * The glue-etl program: reads the stack's config (the only place that does), validates all of it
 * before registering anything, then declares one EtlPipeline per pipeline.
 */
import { useCheapBookkeepingTraces } from "./lib/stack-traces";
useCheapBookkeepingTraces();
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { AccessLogBucket } from "./components/logging";
import { EtlPipeline, PipelineStart } from "./components/pipeline";
import { StackSettings, jobDpus, validateStackConfig } from "./lib/config";
import {
  GENOMICS_INPUT_GLOB,
  GENOMICS_INPUT_SUFFIXES,
  JOBS,
  PipelineName,
  glueJobName,
} from "./lib/jobs";
import { PIPELINE_TABLES } from "./lib/tables";
import { TriggerAction, Workflow, chain } from "./components/triggers";
import { StackDashboard } from "./components/dashboard";
import { AlarmSettings, validateAlarmConfig } from "./lib/observability";
import { PROJECT, environmentName, environmentPrefix, pipelineName } from "./lib/names";

const config = new pulumi.Config();
// The whole stack config, not key by key, so that a key the program does not know (a typo) fails
// instead of being dropped in silence.
const allConfig = pulumi.runtime.allConfig();
// Not in the SDK's typings, but how the SDK itself tells secret config apart; without it every
// key counts as secret, so that no error message can show a secret's value.
const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean })
  .isConfigSecret;
const settings: StackSettings = validateStackConfig(
  allConfig,
  `Pulumi.${pulumi.getStack()}.yaml`,
  Object.keys(allConfig).filter((key) => isSecret?.(key) ?? true),
);

// Alarm thresholds and the metrics namespace: one key of their own, `glue-etl:alarms`.
const rawAlarms = new pulumi.Config(PROJECT).getObject<unknown>("alarms");
const alarmSettings: AlarmSettings = validateAlarmConfig(
  rawAlarms,
  `Pulumi.${pulumi.getStack()}.yaml`,
);

const scriptsDir = path.join(__dirname, "scripts");
/** 02:00 UTC daily, when the stack file gives the sales pipeline no schedule of its own. */
const DEFAULT_SALES_SCHEDULE = "cron(0 2 * * ? *)";
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
    bookmarks: spec.bookmarks,
    tempExpirationDays: settings.tempExpirationDays,
    alertEmails: settings.alertEmails,
    metricsNamespace: alarmSettings.namespace,
    alarmThresholds: alarmSettings.pipelines[pipeline],
    accessLogBucket: accessLogs.bucketName,
    tags: { ...settings.tags, pipeline },
  };
}
const salesSchedule = settings.pipelines.sales.schedule ?? DEFAULT_SALES_SCHEDULE;

// One bucket per stack receives the S3 server access logs of every pipeline bucket.
const accessLogs = new AccessLogBucket("access-logs", {
  namePrefix: `${environmentPrefix(settings.environment)}logs-`,
  sourceBucketPrefix: environmentPrefix(settings.environment),
  tags: { ...settings.tags, pipeline: "shared" },
});

const deployed: Partial<Record<PipelineName, EtlPipeline>> = {};
const enabled = (p: PipelineName) => settings.pipelines[p].enabled;
/** A scheduled trigger when the stack file gives the pipeline a `schedule`, else on demand. */
function scheduledOrOnDemand(p: PipelineName): PipelineStart {
  const schedule = settings.pipelines[p].schedule;
  return schedule ? { kind: "schedule", schedule } : { kind: "onDemand" };
}

// Genomics: CSV files (plain or gzip) landing under csv/ start a run through EventBridge and a
// workflow, in batches of two files or after five minutes. A run converts every file under csv/
// and overwrites the chromosome partitions it writes, so overlapping batches never duplicate rows.
if (enabled("genomics")) {
  deployed.genomics = new EtlPipeline("genomics", {
    ...base("genomics"),
    inputPrefix: "csv/",
    arguments: {
      "--INPUT_PATH": `{raw}/csv/${GENOMICS_INPUT_GLOB}`,
      "--OUTPUT_PATH": "{processed}/genomics/",
      "--REJECTED_PATH": "{processed}/genomics/_rejected/",
    },
    tables: PIPELINE_TABLES.genomics,
    start: {
      kind: "s3Workflow",
      prefix: "csv/",
      suffix: GENOMICS_INPUT_SUFFIXES,
      batchSize: 2,
      batchWindowSeconds: 300,
    },
  });
}

// Splitter: one object per row of the user_info_large catalog table, on demand or on its own
// schedule.
if (enabled("splitter")) {
  deployed.splitter = new EtlPipeline("splitter", {
    ...base("splitter"),
    inputPrefix: "user_info_large/",
    arguments: {
      "--DATABASE_NAME": "{database}",
      "--TABLE_NAME": "user_info_large",
      "--OUTPUT_PATH": "{processed}/rows/",
      "--REJECTED_PATH": "{processed}/_rejected/",
    },
    tables: PIPELINE_TABLES.splitter,
    start: scheduledOrOnDemand("splitter"),
    expectedSchedule: settings.pipelines.splitter.schedule,
  });
}

// Manifest: a manifest.json landing under manifests/ starts one batch run with its path.
if (enabled("manifest")) {
  deployed.manifest = new EtlPipeline("manifest", {
    ...base("manifest"),
    arguments: { "--OUTPUT_PATH": "{processed}/batches/" },
    tables: PIPELINE_TABLES.manifest,
    start: {
      kind: "s3Lambda",
      prefix: "manifests/",
      suffix: "manifest.json",
      argumentName: "--MANIFEST_PATH",
    },
  });
}

// Sales and tagging: a nightly workflow cleans sales, tags them, then catalogs the tagged output. A
// crawler of its own catalogs the raw landing zone.
if (enabled("sales")) {
  deployed.sales = new EtlPipeline("sales", {
    ...base("sales"),
    inputPrefix: "sales/",
    arguments: { "--INPUT_PATH": "{raw}/sales/", "--OUTPUT_PATH": "{processed}/sales/" },
    tables: PIPELINE_TABLES.sales,
    crawlers: [
      {
        name: "raw",
        bucket: "raw",
        prefixes: ["sales/"],
        schedule: "cron(30 1 * * ? *)",
        tablePrefix: "raw_",
      },
    ],
    start: { kind: "external" },
    // The nightly workflow below starts it.
    expectedSchedule: salesSchedule,
  });
}
if (enabled("tagging")) {
  const sales = deployed.sales;
  deployed.tagging = new EtlPipeline("tagging", {
    ...base("tagging"),
    inputPrefix: "input/",
    arguments: {
      // Tags the sales output when that pipeline is deployed, else Parquet dropped under input/.
      "--INPUT_PATH": sales
        ? pulumi.interpolate`s3://${sales.bucketNames.processed}/sales/`
        : "{raw}/input/",
      // With a JDBC target the tagged rows go to the database instead of Parquet.
      ...(settings.pipelines.tagging.jdbc ? {} : { "--OUTPUT_PATH": "{processed}/tagged/" }),
      "--RULES_PATH": "{scripts}/config/tagging_rules.csv",
    },
    jdbc: settings.pipelines.tagging.jdbc && {
      settings: settings.pipelines.tagging.jdbc,
      password: config.requireSecret("jdbcPassword"),
      region: settings.region,
    },
    assets: [{ path: path.join(scriptsDir, "rules", "tagging_rules.csv") }],
    extraRead: sales ? [{ bucketArn: sales.storage.buckets.processed.arn, prefix: "sales/" }] : [],
    extraStatements: sales
      ? [
          {
            Sid: "DecryptSalesOutput",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: sales.security.key.arn,
          },
        ]
      : [],
    crawlers: [{ name: "tagged", bucket: "processed", prefixes: ["tagged/"] }],
    // With sales, the nightly workflow runs it (config refuses a schedule of its own then).
    start: sales ? { kind: "external" } : scheduledOrOnDemand("tagging"),
    expectedSchedule: sales ? salesSchedule : settings.pipelines.tagging.schedule,
  });
}

const workflows: Record<string, Workflow> = {};
if (deployed.sales) {
  const steps: TriggerAction[] = [{ job: deployed.sales.job.name }];
  if (deployed.tagging) {
    steps.push(
      { job: deployed.tagging.job.name },
      { crawler: deployed.tagging.crawlers.tagged!.crawlerName },
    );
  }
  workflows.salesDaily = new Workflow("sales-daily", {
    workflowName: pipelineName(settings.environment, "sales-daily"),
    description: "Nightly: clean sales and clickstream events, tag them, catalog the tagged output",
    triggers: chain({ kind: "scheduled", schedule: salesSchedule }, steps),
    tags: { ...settings.tags, pipeline: "sales" },
  });
}

// One dashboard for the stack, a row per deployed pipeline.
const dashboard = Object.keys(deployed).length
  ? new StackDashboard("dashboard", {
      dashboardName: environmentName(settings.environment),
      environment: settings.environment,
      region: settings.region,
      namespace: alarmSettings.namespace,
      pipelines: Object.entries(deployed).map(([name, p]) => ({
        pipeline: name,
        jobName: p.job.name,
        alarmArns: p.alarms.alarmArns,
        failedRunsRuleName: p.alerts.rules[0]?.name,
        rejectedSharePercent: p.alarms.thresholds.rejectedSharePercent,
        runTimeLimitSeconds: p.alarms.runTimeLimitSeconds,
      })),
    })
  : undefined;

export const dashboardName = dashboard?.dashboardName;
export const environment = settings.environment;
export const accessLogBucket = accessLogs.bucketName;
export const workflowNames = Object.fromEntries(
  Object.entries(workflows).map(([k, w]) => [k, w.name]),
);
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
        databaseName: p.databaseName,
        ddl: p.catalog?.ddl,
        triggerNames: p.triggerNames,
        workflowName: p.workflow?.name,
        alertTopicArn: p.alerts.topicArn,
        alarmNames: Object.fromEntries(
          Object.entries(p.alarms.alarms).map(([k, a]) => [k, a.name]),
        ),
        maxConcurrentRuns: s.maxConcurrentRuns,
        capacity: `${s.numberOfWorkers} x ${s.workerType} (${jobDpus(s)} DPU, ${s.executionClass})`,
      },
    ];
  }),
);
