/**
 * The physical names the program gives AWS resources, in one place: every name starts with the
 * project and the environment, so two environments share an account without a clash and a
 * policy or a person can tell whose a resource is from its name.
 */

/** The Pulumi project, the config namespace and the first word of every physical name. */
export const PROJECT = "glue-etl";

/** What every physical name of an environment starts with: `glue-etl-dev-`. */
export function environmentPrefix(environment: string): string {
  return `${PROJECT}-${environment}-`;
}

/** The environment's own name, for what exists once per stack (its dashboard): `glue-etl-dev`. */
export function environmentName(environment: string): string {
  return `${PROJECT}-${environment}`;
}

/**
 * A pipeline's physical name, which its buckets, key alias, security configuration, workflow and
 * alarms start with: `glue-etl-dev-genomics`.
 */
export function pipelineName(environment: string, pipeline: string): string {
  return `${environmentPrefix(environment)}${pipeline}`;
}

/** A pipeline's Glue database: `glue_etl_dev_genomics` (Athena wants no hyphens). */
export function pipelineDatabaseName(environment: string, pipeline: string): string {
  return pipelineName(environment, pipeline).replace(/-/g, "_");
}
