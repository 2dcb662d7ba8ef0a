import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { JobOptionArgument, validateJobArguments } from "../lib/arguments";
import { METRIC_ARGUMENTS } from "../lib/observability";
import { JobSizing } from "../lib/config";
import { GLUE_VERSION, SPARK_COMMAND } from "../lib/glue";

export { GLUE_VERSION };

export interface GlueJobArgs {
  /** Physical Glue job name, as users pass it to start-job-run. */
  readonly jobName: string;
  readonly description?: string;
  /** Local path of the PySpark script; uploaded content-addressed, so an edit shows in a preview. */
  readonly scriptPath: string;
  /** Local Python modules the script imports, shipped with `--extra-py-files`. Default none. */
  readonly pyFiles?: string[];
  /** Bucket (name) that holds the uploaded scripts. */
  readonly scriptsBucket: pulumi.Input<string>;
  readonly roleArn: pulumi.Input<string>;
  readonly sizing: JobSizing;
  readonly securityConfigurationName: pulumi.Input<string>;
  /** `s3://…/` for Glue's temporary files (`--TempDir`). */
  readonly tempDir: pulumi.Input<string>;
  /** `s3://…/` for Spark UI event logs. */
  readonly sparkUiLogsPath: pulumi.Input<string>;
  /** The job's own `--ARGUMENTS` as defaults; reserved and managed keys are refused. Default none. */
  readonly arguments?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Job bookmarks, so scheduled runs process only new data. Default true. */
  readonly bookmarks?: boolean;
  /**
   * Where the script publishes its run metrics: `--METRICS_NAMESPACE`, `--PIPELINE` and
   * `--ENVIRONMENT`. Default none (the script publishes nothing).
   */
  readonly metrics?: {
    readonly namespace: string;
    readonly pipeline: string;
    readonly environment: string;
  };
  /** Glue connections (e.g. JDBC) the job uses. Default none. */
  readonly connections?: pulumi.Input<string>[];
  readonly tags: Record<string, string>;
}

/**
 * A Glue 5.0 Spark job with its script uploaded to S3, sized from the stack config, encrypted by
 * a security configuration, with bookmarks, metrics, Spark UI logs and auto-scaling on by default;
 * Glue 5.0 itself logs every run to CloudWatch in real time.
 */
export class GlueJob extends pulumi.ComponentResource {
  /** First 16 hex digits of the file's SHA-256: what makes an upload content-addressed. */
  static contentHash(file: string): string {
    if (!fs.existsSync(file)) {
      throw new Error(`File to upload not found: ${path.relative(process.cwd(), file) || file}`);
    }
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex").slice(0, 16);
  }

  public readonly job: aws.glue.Job;
  public readonly name: pulumi.Output<string>;
  public readonly scriptLocation: pulumi.Output<string>;

  constructor(name: string, args: GlueJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super("glue-etl:job:GlueJob", name, {}, opts);
    // Keys only: values may still be unresolved Outputs.
    validateJobArguments(
      name,
      Object.fromEntries(Object.keys(args.arguments ?? {}).map((k) => [k, ""])),
    );

    const upload = (file: string, id: string, folder: string): pulumi.Output<string> => {
      // The hash is a folder, not a suffix, so Python still imports the module by its file name.
      const key = `${folder}/${GlueJob.contentHash(file)}/${path.basename(file)}`;
      const obj = new aws.s3.BucketObjectv2(
        id,
        {
          bucket: args.scriptsBucket,
          key,
          source: new pulumi.asset.FileAsset(file),
          sourceHash: GlueJob.contentHash(file),
          contentType: "text/x-python",
          tags: args.tags,
        },
        { parent: this },
      );
      return pulumi.interpolate`s3://${obj.bucket}/${obj.key}`;
    };
    this.scriptLocation = upload(args.scriptPath, `${name}-script`, "jobs");
    const pyFiles = (args.pyFiles ?? []).map((f, i) => upload(f, `${name}-pyfile-${i}`, "lib"));

    const s = args.sizing;
    // Exactly the keys lib/arguments.ts lists as managed: a key added here and not there (or the
    // reverse) fails to compile, so the program's and the CLI's refusals stay in step.
    const options: Record<JobOptionArgument, pulumi.Input<string> | undefined> = {
      "--job-language": "python",
      "--job-bookmark-option":
        args.bookmarks === false ? "job-bookmark-disable" : "job-bookmark-enable",
      "--TempDir": args.tempDir,
      "--enable-metrics": "true",
      "--enable-observability-metrics": "true",
      // No continuous-logging flags: Glue 5.0 logs every job to CloudWatch in real time.
      "--enable-spark-ui": "true",
      "--spark-event-logs-path": args.sparkUiLogsPath,
      // With auto-scaling numberOfWorkers is a ceiling: small inputs do not pay for idle workers.
      "--enable-auto-scaling": "true",
      "--enable-glue-datacatalog": "true",
      "--enable-job-insights": "true",
      "--extra-py-files":
        pyFiles.length > 0 ? pulumi.all(pyFiles).apply((p) => p.join(",")) : undefined,
    };
    const metrics: Record<(typeof METRIC_ARGUMENTS)[number], string> | undefined = args.metrics && {
      "--METRICS_NAMESPACE": args.metrics.namespace,
      "--PIPELINE": args.metrics.pipeline,
      "--ENVIRONMENT": args.metrics.environment,
    };
    const { "--extra-py-files": extraPyFiles, ...glueOptions } = options;
    const managed: Record<string, pulumi.Input<string>> = {};
    for (const [k, v] of Object.entries({
      ...glueOptions,
      ...metrics,
      "--extra-py-files": extraPyFiles,
    }))
      if (v !== undefined) managed[k] = v;

    this.job = new aws.glue.Job(
      `${name}-job`,
      {
        name: args.jobName,
        description: args.description,
        roleArn: args.roleArn,
        glueVersion: GLUE_VERSION,
        command: { ...SPARK_COMMAND, scriptLocation: this.scriptLocation },
        workerType: s.workerType,
        numberOfWorkers: s.numberOfWorkers,
        executionClass: s.executionClass,
        maxRetries: s.maxRetries,
        timeout: s.timeoutMinutes,
        executionProperty: { maxConcurrentRuns: s.maxConcurrentRuns },
        securityConfiguration: args.securityConfigurationName,
        defaultArguments: { ...managed, ...(args.arguments ?? {}) },
        connections: args.connections,
        tags: args.tags,
      },
      { parent: this },
    );
    this.name = this.job.name;
    this.registerOutputs({ jobName: this.name, scriptLocation: this.scriptLocation });
  }
}
