/**
 * An object landing in S3 starts a Glue job, in one of two ways:
 *
 * - `S3EventWorkflowStart`: the bucket sends its events to EventBridge, a rule matches Object
 *   Created under a prefix and suffix, and the rule notifies a Glue workflow whose start trigger
 *   is an EVENT trigger (batch size and window). Suits "process what is new under a prefix" jobs
 *   with bookmarks: the run does not receive the object's key as an argument.
 * - `S3EventJobStarter`: a Lambda function starts the job itself with the object's `s3://` path
 *   as a job argument (e.g. `--MANIFEST_PATH`), once per object, however often the event arrives.
 *
 * A bucket has ONE notification configuration: when several of these share a bucket, let only one
 * manage it (`manageBucketNotification`) or declare the aws.s3.BucketNotification yourself.
 */
export * from "./s3-object-event";
export * from "./dead-letter-queue";
export * from "./s3-event-workflow-start";
export * from "./s3-event-job-starter";
