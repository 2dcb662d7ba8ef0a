import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("glue-etl", {
  description:
    "Security, cost and operability guardrails for AWS Glue ETL pipelines: S3, IAM, Glue, SNS/Lambda, tagging and alarms.",
  provider: "aws",
  tags: ["aws", "glue", "s3", "iam", "etl"],
  enforcementLevel: "mandatory",
  policies,
});
