/**
 * The glue-etl program: reads the stack's config (the only place that does), validates all of it
 * before registering anything, then walks the pipeline declarations (`pipelines/`): one
 * EtlPipeline per enabled pipeline, the workflows they ask for, the stack's dashboard and outputs.
 */
import { skipPromiseTraces } from "./lib/stack-traces";
skipPromiseTraces();
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { AccessLogBucket } from "./components/logging";
import { EtlPipeline, PipelineOutput, PipelineStart } from "./components/pipeline";
import { StackSettings, jobDpus, validateStackConfig } from "./lib/config";
import {
  PipelineDeclaration,
  glueJobName,
  plannedWorkflows,
  workflowName,
} from "./lib/declaration";
import { PIPELINES } from "./pipelines";
import { Workflow, chain } from "./components/triggers";
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
const commonModule = path.join(scriptsDir, "glue_etl_common.py");

// One bucket per stack receives the S3 server access logs of every pipeline bucket.
const accessLogs = new AccessLogBucket("access-logs", {
  namePrefix: `${environmentPrefix(settings.environment)}logs-`,
  sourceBucketPrefix: environmentPrefix(settings.environment),
  tags: { ...settings.tags, pipeline: "shared" },
});

const enabled = (name: string) => settings.pipelines[name]?.enabled === true;
const workflowPlans = plannedWorkflows(PIPELINES, enabled);

/** The Glue cron a declared schedule runs on: the stack file's `schedule`, else the declaration's. */
function scheduleOf(d: PipelineDeclaration): string | undefined {
  const own = settings.pipelines[d.name]?.schedule;
  return d.start.kind === "schedule" || d.start.kind === "workflow"
    ? (own ?? d.start.schedule)
    : own;
}

/** What starts the pipeline's job in this stack. */
function startOf(d: PipelineDeclaration): PipelineStart {
  const inWorkflow = workflowPlans.find((w) => w.chain.includes(d));
  if (inWorkflow) return { kind: "workflow", schedule: scheduleOf(inWorkflow.head)! };
  const s = d.start;
  if (s.kind === "s3Workflow" || s.kind === "s3Lambda") return s;
  // On demand, or after a pipeline that is not deployed: the stack file may schedule it.
  const schedule = scheduleOf(d);
  return schedule ? { kind: "schedule", schedule } : { kind: "onDemand" };
}

/** Declarations in an order that builds each pipeline after the pipelines it reads. */
function buildOrder(all: readonly PipelineDeclaration[]): PipelineDeclaration[] {
  const ordered: PipelineDeclaration[] = [];
  const visit = (d: PipelineDeclaration) => {
    if (ordered.includes(d)) return;
    for (const r of d.reads ?? []) {
      const source = all.find((x) => x.name === r.pipeline);
      if (source && source !== d) visit(source);
    }
    ordered.push(d);
  };
  all.forEach(visit);
  return ordered;
}

const built = new Map<string, EtlPipeline>();
for (const d of buildOrder(PIPELINES.filter((p) => enabled(p.name)))) {
  const ps = settings.pipelines[d.name]!;
  const reads: PipelineOutput[] = [];
  const args: Record<string, string | PipelineOutput["path"]> = { ...d.defaultArguments };
  for (const r of d.reads ?? []) {
    const source = built.get(r.pipeline);
    // Without the source pipeline the argument keeps this pipeline's own default.
    if (!source) continue;
    const output = source.output(r.bucket ?? "processed", r.prefix);
    reads.push(output);
    args[r.argument ?? "--INPUT_PATH"] = output.path;
  }
  // With a JDBC target the rows go to the database instead.
  if (ps.jdbc) for (const key of d.jdbc?.replacesArguments ?? []) delete args[key];
  built.set(
    d.name,
    new EtlPipeline(d.name, {
      environment: settings.environment,
      jobName: glueJobName(d.job, settings.environment),
      description: d.job.description,
      scriptPath: path.join(scriptsDir, d.job.script),
      pyFiles: [commonModule],
      contract: d.job,
      settings: ps,
      bookmarks: d.job.bookmarks,
      tempExpirationDays: settings.tempExpirationDays,
      alertEmails: settings.alertEmails,
      metricsNamespace: alarmSettings.namespace,
      alarmThresholds: alarmSettings.pipelines[d.name],
      accessLogBucket: accessLogs.bucketName,
      tags: { ...settings.tags, pipeline: d.name },
      inputPrefix: d.inputPrefix,
      arguments: args,
      tables: d.tables,
      crawlers: d.crawlers,
      start: startOf(d),
      assets: (d.assets ?? []).map((file) => ({ path: path.join(scriptsDir, file) })),
      reads,
      jdbc: ps.jdbc &&
        d.jdbc && {
          settings: ps.jdbc,
          password: config.requireSecret("jdbcPassword"),
          region: settings.region,
        },
    }),
  );
}
// Registry order, not build order: the dashboard's rows and the outputs follow it.
const deployed: Record<string, EtlPipeline> = Object.fromEntries(
  PIPELINES.filter((p) => built.has(p.name)).map((p) => [p.name, built.get(p.name)!]),
);

// Each workflow a declaration heads: its schedule starts the head's job, then each pipeline that
// runs after it, each followed by its after-job crawlers.
const workflows: Record<string, Workflow> = {};
for (const { head, chain: members } of workflowPlans) {
  const name = workflowName(head);
  workflows[name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = new Workflow(name, {
    workflowName: pipelineName(settings.environment, name),
    description: head.start.kind === "workflow" ? head.start.description : undefined,
    triggers: chain(
      { kind: "scheduled", schedule: scheduleOf(head)! },
      members.flatMap((m) => [
        { job: deployed[m.name]!.job.name },
        ...deployed[m.name]!.afterJobCrawlers,
      ]),
    ),
    tags: { ...settings.tags, pipeline: head.name },
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
    const s = settings.pipelines[name]!.sizing;
    return [
      name,
      {
        jobName: p.job.name,
        roleArn: p.role.arn,
        buckets: p.bucketNames,
        scriptLocation: p.job.scriptLocation,
        securityConfiguration: p.security.securityConfiguration.name,
        // A pipeline without tables or crawlers has no Glue database, so it exports none.
        ...(p.databaseName ? { databaseName: p.databaseName } : {}),
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
