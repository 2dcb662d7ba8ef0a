import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PolicyStatement, awsContext } from "../lib/aws";
import { validateGlueCron } from "../lib/cron";
import { catalogNameProblem } from "../lib/schema";
import { glueServiceRole } from "./role";
import { formerType } from "../lib/aliases";

export interface CrawlerTarget {
  /** Name of the bucket to crawl. */
  readonly bucket: pulumi.Input<string>;
  /** Key prefix to crawl, ending in "/", e.g. `landing/sales/`. The role can read nothing else. */
  readonly prefix: string;
  /** Glob patterns left out of the crawl, e.g. `**\/_rejected/**`. Default none. */
  readonly exclusions?: readonly string[];
}

export type RecrawlBehavior = "CRAWL_NEW_FOLDERS_ONLY" | "CRAWL_EVERYTHING";

export interface SchemaChangePolicy {
  /** What a changed schema does to the table. `LOG` leaves the table alone. */
  readonly update: "LOG" | "UPDATE_IN_DATABASE";
  /** What deleted objects do to tables and partitions. `LOG` leaves them alone. */
  readonly delete: "LOG" | "DEPRECATE_IN_DATABASE" | "DELETE_FROM_DATABASE";
}

export interface CrawlerArgs {
  /** Physical crawler name. Default: the component's name. */
  readonly crawlerName?: string;
  /** Glue database the crawler writes tables and partitions to. */
  readonly databaseName: pulumi.Input<string>;
  /** At least one S3 location to crawl. */
  readonly targets: readonly CrawlerTarget[];
  /** Glue cron such as `cron(0 3 * * ? *)` (UTC). Default: none (run on demand or by a trigger). */
  readonly schedule?: string;
  /** Default `CRAWL_NEW_FOLDERS_ONLY`: each run reads only folders added since the last one. */
  readonly recrawlBehavior?: RecrawlBehavior;
  /**
   * Default `{ update: "LOG", delete: "LOG" }`, the only policy Glue accepts when crawling new
   * folders only; with `CRAWL_EVERYTHING`, any combination.
   */
  readonly schemaChangePolicy?: SchemaChangePolicy;
  /** Glue security configuration (encryption of the crawler's CloudWatch logs). */
  readonly securityConfigurationName: pulumi.Input<string>;
  /** KMS key of the crawled data; the crawler's role may decrypt with it. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Prefix of the table names the crawler creates: lower-case letters, digits, `_`. Default none. */
  readonly tablePrefix?: string;
  readonly tags: Record<string, string>;
}

const PREFIX_RE = /^([A-Za-z0-9!_.*'()=-]+\/)+$/;

function fail(field: string, value: unknown, allowed: string): never {
  throw new Error(`Crawler ${field}: got ${JSON.stringify(value)}; allowed: ${allowed}`);
}

/**
 * A Glue crawler over S3 prefixes, with its own role: trusted by Glue, the AWS Glue service
 * policy, and an inline policy that reads exactly the crawled prefixes and decrypts with the
 * data's key. By default it crawls new folders only and logs schema changes instead of applying them.
 */
export class Crawler extends pulumi.ComponentResource {
  public readonly crawler: aws.glue.Crawler;
  public readonly role: aws.iam.Role;
  public readonly crawlerName: pulumi.Output<string>;

  constructor(name: string, args: CrawlerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("glue-etl:crawler:Crawler", name, {}, formerType("glue-etl:catalog:Crawler", opts));
    const recrawl = args.recrawlBehavior ?? "CRAWL_NEW_FOLDERS_ONLY";
    const policy = args.schemaChangePolicy ?? { update: "LOG", delete: "LOG" };
    validateCrawlerArgs(args, recrawl, policy);
    const schedule = args.schedule === undefined ? undefined : validateGlueCron(args.schedule);
    const { accountId, region, partition } = awsContext(this);

    const bucketArn = (t: CrawlerTarget) => pulumi.interpolate`arn:${partition}:s3:::${t.bucket}`;
    const statements: PolicyStatement[] = [
      {
        Sid: "ReadCrawledPrefixes",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: args.targets.map((t) => pulumi.interpolate`${bucketArn(t)}/${t.prefix}*`),
      },
      ...args.targets.map((t, i): PolicyStatement => ({
        Sid: `ListCrawledPrefix${i}`,
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: bucketArn(t),
        Condition: { StringLike: { "s3:prefix": [`${t.prefix}*`] } },
      })),
      {
        Sid: "DecryptCrawledData",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: args.kmsKeyArn,
      },
      {
        // The security configuration encrypts the crawler's log group with its key.
        Sid: "EncryptCrawlerLogs",
        Effect: "Allow",
        Action: "logs:AssociateKmsKey",
        Resource: pulumi.interpolate`arn:${partition}:logs:${region}:${accountId}:log-group:/aws-glue/crawlers*`,
      },
    ];
    const {
      role,
      attachment,
      policy: access,
    } = glueServiceRole(this, name, {
      description: "Runs this crawler: reads the crawled prefixes only",
      partition,
      statements,
      tags: args.tags,
    });
    this.role = role;

    this.crawler = new aws.glue.Crawler(
      `${name}-crawler`,
      {
        name: args.crawlerName ?? name,
        role: this.role.arn,
        databaseName: args.databaseName,
        s3Targets: args.targets.map((t) => ({
          path: pulumi.interpolate`s3://${t.bucket}/${t.prefix}`,
          ...(t.exclusions?.length ? { exclusions: [...t.exclusions] } : {}),
        })),
        schedule,
        recrawlPolicy: { recrawlBehavior: recrawl },
        schemaChangePolicy: { updateBehavior: policy.update, deleteBehavior: policy.delete },
        securityConfiguration: args.securityConfigurationName,
        tablePrefix: args.tablePrefix,
        // One table per target rather than one per folder; partitions follow the table's schema.
        configuration: JSON.stringify({
          Version: 1.0,
          Grouping: { TableGroupingPolicy: "CombineCompatibleSchemas" },
          CrawlerOutput: { Partitions: { AddOrUpdateBehavior: "InheritFromTable" } },
        }),
        tags: args.tags,
      },
      // A crawler started before its permissions exist fails its first run.
      { parent: this, dependsOn: [attachment, access] },
    );
    this.crawlerName = this.crawler.name;
    this.registerOutputs({ crawlerName: this.crawlerName, roleArn: this.role.arn });
  }
}

function validateCrawlerArgs(
  args: CrawlerArgs,
  recrawl: RecrawlBehavior,
  policy: SchemaChangePolicy,
): void {
  if (args.targets.length === 0) fail("targets", [], "at least one { bucket, prefix } to crawl");
  args.targets.forEach((t, i) => {
    if (!PREFIX_RE.test(t.prefix)) {
      fail(
        `targets[${i}].prefix`,
        t.prefix,
        'an S3 key prefix ending in "/" without a leading "/", e.g. "landing/sales/"',
      );
    }
  });
  if (args.tablePrefix !== undefined && catalogNameProblem(args.tablePrefix)) {
    fail(
      "tablePrefix",
      args.tablePrefix,
      "lower-case letters, digits and underscores (it starts Glue table names)",
    );
  }
  if (!["CRAWL_NEW_FOLDERS_ONLY", "CRAWL_EVERYTHING"].includes(recrawl)) {
    fail("recrawlBehavior", recrawl, "CRAWL_NEW_FOLDERS_ONLY or CRAWL_EVERYTHING");
  }
  if (!["LOG", "UPDATE_IN_DATABASE"].includes(policy.update)) {
    fail("schemaChangePolicy.update", policy.update, "LOG or UPDATE_IN_DATABASE");
  }
  if (!["LOG", "DEPRECATE_IN_DATABASE", "DELETE_FROM_DATABASE"].includes(policy.delete)) {
    fail(
      "schemaChangePolicy.delete",
      policy.delete,
      "LOG, DEPRECATE_IN_DATABASE or DELETE_FROM_DATABASE",
    );
  }
  if (
    recrawl === "CRAWL_NEW_FOLDERS_ONLY" &&
    (policy.update !== "LOG" || policy.delete !== "LOG")
  ) {
    fail(
      "schemaChangePolicy",
      policy,
      '{ update: "LOG", delete: "LOG" } with recrawlBehavior CRAWL_NEW_FOLDERS_ONLY (Glue rejects anything else); ' +
        "use CRAWL_EVERYTHING to apply schema changes",
    );
  }
}
