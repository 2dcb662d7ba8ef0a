/**
 * Every policy of the pack, in one list. Kept apart from index.ts, which starts the policy
 * server when loaded, so tests and tools can import the policies directly.
 */
import { Policies } from "@pulumi/policy";
import { alarmPolicies } from "./alarms";
import { gluePolicies } from "./glue";
import { iamPolicies } from "./iam";
import { s3Policies } from "./s3";
import { snsLambdaPolicies } from "./sns-lambda";
import { tagPolicies } from "./tags";

export const policies: Policies = [
  ...s3Policies,
  ...iamPolicies,
  ...gluePolicies,
  ...snsLambdaPolicies,
  ...tagPolicies,
  ...alarmPolicies,
];
