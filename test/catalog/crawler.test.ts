import { expect } from "chai";
import { Crawler, CrawlerArgs } from "../../components/crawler";
import { OfflineRun } from "../../tools/offline";
import { asList, named, ofType, policyOf } from "../support/program";
import { TAGS, offlineComponents, refusedOffline } from "./support";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/raw-data";

const ARGS: CrawlerArgs = {
  crawlerName: "glue-etl-dev-sales-raw",
  databaseName: "glue_etl_dev_sales",
  targets: [
    { bucket: "raw-bucket", prefix: "landing/sales/", exclusions: ["**/_rejected/**"] },
    { bucket: "clicks-bucket", prefix: "landing/clicks/" },
  ],
  schedule: "cron(0 3 * * ? *)",
  securityConfigurationName: "glue-etl-dev-sales",
  kmsKeyArn: KEY,
  tablePrefix: "raw_",
  tags: TAGS,
};

const offline = (args: CrawlerArgs) =>
  offlineComponents(() => {
    new Crawler("sales-raw", args);
  });

describe("Crawler component under mocks", () => {
  let run: OfflineRun;
  before(async () => {
    run = await offline(ARGS);
  });
  const crawler = () => named(run, "aws:glue/crawler:Crawler", "sales-raw-crawler");

  it("crawls the S3 targets on the schedule, new folders only, logging schema changes", () => {
    expect(crawler().inputs).to.deep.include({
      name: "glue-etl-dev-sales-raw",
      databaseName: "glue_etl_dev_sales",
      schedule: "cron(0 3 * * ? *)",
      tablePrefix: "raw_",
      securityConfiguration: "glue-etl-dev-sales",
      recrawlPolicy: { recrawlBehavior: "CRAWL_NEW_FOLDERS_ONLY" },
      schemaChangePolicy: { updateBehavior: "LOG", deleteBehavior: "LOG" },
      s3Targets: [
        { path: "s3://raw-bucket/landing/sales/", exclusions: ["**/_rejected/**"] },
        { path: "s3://clicks-bucket/landing/clicks/" },
      ],
      tags: TAGS,
    });
    expect(JSON.parse(crawler().inputs.configuration as string)).to.deep.equal({
      Version: 1,
      Grouping: { TableGroupingPolicy: "CombineCompatibleSchemas" },
      CrawlerOutput: { Partitions: { AddOrUpdateBehavior: "InheritFromTable" } },
    });
  });

  it("runs as its own role, trusted by Glue only, with the AWS Glue service policy", () => {
    const role = named(run, "aws:iam/role:Role", "sales-raw-role");
    expect(crawler().inputs.role).to.equal("arn:aws:iam::123456789012:role/sales-raw-role");
    expect(JSON.parse(role.inputs.assumeRolePolicy as string)).to.deep.equal({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { Service: "glue.amazonaws.com" }, Action: "sts:AssumeRole" },
      ],
    });
    const attachments = ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment");
    expect(attachments.map((a) => a.inputs.policyArn)).to.deep.equal([
      "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole",
    ]);
    expect(attachments[0].inputs.role).to.equal("sales-raw-role");
  });

  it("reads exactly the crawled prefixes and decrypts with the data's key, nothing more", () => {
    const policy = policyOf(named(run, "aws:iam/rolePolicy:RolePolicy", "sales-raw-access"));
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    expect(bySid.ReadCrawledPrefixes).to.deep.equal({
      Sid: "ReadCrawledPrefixes",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: [
        "arn:aws:s3:::raw-bucket/landing/sales/*",
        "arn:aws:s3:::clicks-bucket/landing/clicks/*",
      ],
    });
    expect(bySid.ListCrawledPrefix0).to.deep.include({
      Action: "s3:ListBucket",
      Resource: "arn:aws:s3:::raw-bucket",
      Condition: { StringLike: { "s3:prefix": ["landing/sales/*"] } },
    });
    expect(bySid.ListCrawledPrefix1).to.deep.include({
      Resource: "arn:aws:s3:::clicks-bucket",
      Condition: { StringLike: { "s3:prefix": ["landing/clicks/*"] } },
    });
    expect(bySid.DecryptCrawledData).to.deep.include({ Action: "kms:Decrypt", Resource: KEY });
    expect(bySid.EncryptCrawlerLogs).to.deep.include({
      Action: "logs:AssociateKmsKey",
      Resource: "arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/crawlers*",
    });
    expect(policy.Statement).to.have.length(5);
    for (const s of policy.Statement) {
      expect(s.Effect).to.equal("Allow");
      expect(asList(s.Resource), s.Sid).not.to.include("*");
      expect(
        asList(s.Action).some((a) => a.endsWith(":*")),
        s.Sid,
      ).to.equal(false);
    }
  });

  it("nests every resource under the crawler component", () => {
    for (const r of run.resources.filter((x) => x.custom)) {
      expect(r.parent, r.name).to.equal("glue-etl:crawler:Crawler::sales-raw");
    }
  });

  it("applies schema changes when told to crawl everything", async () => {
    const everything = await offline({
      ...ARGS,
      schedule: undefined,
      recrawlBehavior: "CRAWL_EVERYTHING",
      schemaChangePolicy: { update: "UPDATE_IN_DATABASE", delete: "DEPRECATE_IN_DATABASE" },
    });
    const c = named(everything, "aws:glue/crawler:Crawler", "sales-raw-crawler");
    expect(c.inputs.recrawlPolicy).to.deep.equal({ recrawlBehavior: "CRAWL_EVERYTHING" });
    expect(c.inputs.schemaChangePolicy).to.deep.equal({
      updateBehavior: "UPDATE_IN_DATABASE",
      deleteBehavior: "DEPRECATE_IN_DATABASE",
    });
    expect(c.inputs.schedule).to.equal(undefined);
  });
});

describe("Crawler component argument checks", () => {
  const refused = (args: CrawlerArgs) => refusedOffline(() => new Crawler("bad", args));

  it("refuses a schema change policy Glue rejects for new-folders-only crawls", async () => {
    const message = await refused({
      ...ARGS,
      schemaChangePolicy: { update: "UPDATE_IN_DATABASE", delete: "LOG" },
    });
    expect(message).to.contain("Crawler schemaChangePolicy");
    expect(message).to.contain("CRAWL_NEW_FOLDERS_ONLY");
    expect(message).to.contain("use CRAWL_EVERYTHING");
  });

  it("refuses a schedule that is not a Glue cron, showing the expected form", async () => {
    const message = await refused({ ...ARGS, schedule: "0 3 * * *" });
    expect(message).to.contain("cron(");
  });

  it("refuses no targets, a prefix that is not a folder, and a bad table prefix", async () => {
    expect(await refused({ ...ARGS, targets: [] })).to.contain("Crawler targets: got []");
    expect(
      await refused({ ...ARGS, targets: [{ bucket: "b", prefix: "landing/sales" }] }),
    ).to.contain('Crawler targets[0].prefix: got "landing/sales"');
    expect(await refused({ ...ARGS, tablePrefix: "Raw-" })).to.contain(
      'Crawler tablePrefix: got "Raw-"',
    );
  });
});
