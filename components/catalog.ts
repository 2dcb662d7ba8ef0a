import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  PhysicalTable,
  TableDeclaration,
  createTableDdl,
  physicalTable,
  tableLocation,
  validateCatalogName,
  validateTable,
} from "../lib/schema";

export interface CatalogTableSpec {
  /** The table's declaration (see the pipeline declarations in pipelines/). */
  readonly table: TableDeclaration;
  /** Name of the bucket holding the data; the location is `s3://<bucket>/<table.prefix>`. */
  readonly bucket: pulumi.Input<string>;
}

export interface CatalogArgs {
  /** Glue database name: lower-case letters, digits and underscores, at most 255 characters. */
  readonly databaseName: string;
  /** Default "Tables of <databaseName>". */
  readonly description?: string;
  /** The tables of the database, each with the bucket of its data. Default none. */
  readonly tables?: readonly CatalogTableSpec[];
  /** Bucket for Athena query results (the pipeline's temp bucket suits: its objects expire). */
  readonly athenaResultsBucket: pulumi.Input<string>;
  /** Key prefix of query results, ending in "/". Default "athena-results/". */
  readonly athenaResultsPrefix?: string;
  /** KMS key that encrypts query results (SSE_KMS). */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Athena workgroup name. Default: the database name with `_` as `-`. */
  readonly workgroupName?: string;
  /** Queries scanning more than this many bytes are cancelled. Default 100 GiB (about $0.50 a query). */
  readonly bytesScannedCutoffPerQuery?: number;
  /** Account that must own the results bucket (guards against a re-created bucket). Default: not checked. */
  readonly expectedResultsBucketOwner?: pulumi.Input<string>;
  readonly tags: Record<string, string>;
}

const WORKGROUP_RE = /^[A-Za-z0-9._-]{1,128}$/;
// Athena refuses a cutoff below 10 MB.
const MIN_CUTOFF = 10 * 1024 * 1024;
const DEFAULT_CUTOFF = 100 * 1024 ** 3;

/**
 * A Glue database with its tables, an Athena workgroup whose results are SSE-KMS encrypted and
 * whose settings clients cannot override, and one named query per table holding the table's
 * `CREATE EXTERNAL TABLE` DDL, generated from the same declaration as the Glue table.
 */
export class Catalog extends pulumi.ComponentResource {
  public readonly database: aws.glue.CatalogDatabase;
  public readonly databaseName: pulumi.Output<string>;
  public readonly tables: Readonly<Record<string, aws.glue.CatalogTable>>;
  public readonly workgroup: aws.athena.Workgroup;
  /** Table name to its Athena DDL. */
  public readonly ddl: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: CatalogArgs, opts?: pulumi.ComponentResourceOptions) {
    super("glue-etl:catalog:Catalog", name, {}, opts);
    const specs = args.tables ?? [];
    // Refuse bad declarations before any child resource is registered.
    const databaseName = validateCatalogName("Catalog databaseName", args.databaseName);
    const seen = new Set<string>();
    for (const { table } of specs) {
      validateTable(table);
      if (seen.has(table.name)) {
        throw new Error(
          `Catalog "${databaseName}": table "${table.name}" is declared twice; table names must be unique`,
        );
      }
      seen.add(table.name);
    }
    const workgroupName = args.workgroupName ?? databaseName.replace(/_/g, "-");
    if (!WORKGROUP_RE.test(workgroupName)) {
      throw new Error(
        `Catalog workgroupName: got ${JSON.stringify(workgroupName)}; allowed: 1-128 letters, digits, '.', '_' or '-'`,
      );
    }
    const resultsPrefix = args.athenaResultsPrefix ?? "athena-results/";
    if (!/^([A-Za-z0-9!_.*'()=-]+\/)+$/.test(resultsPrefix)) {
      throw new Error(
        `Catalog athenaResultsPrefix: got ${JSON.stringify(resultsPrefix)}; allowed: a key prefix ending in "/" without a leading "/"`,
      );
    }
    const cutoff = args.bytesScannedCutoffPerQuery ?? DEFAULT_CUTOFF;
    if (!Number.isInteger(cutoff) || cutoff < MIN_CUTOFF) {
      throw new Error(
        `Catalog bytesScannedCutoffPerQuery: got ${cutoff}; allowed: an integer number of bytes, at least ${MIN_CUTOFF} (10 MB)`,
      );
    }
    const child = { parent: this };

    this.database = new aws.glue.CatalogDatabase(
      `${name}-database`,
      {
        name: databaseName,
        description: args.description ?? `Tables of ${databaseName}`,
        tags: args.tags,
      },
      child,
    );
    this.databaseName = this.database.name;

    const physical: Record<string, pulumi.Output<PhysicalTable>> = {};
    const tables: Record<string, aws.glue.CatalogTable> = {};
    for (const { table, bucket } of specs) {
      const p = pulumi.output(bucket).apply((b) => physicalTable(table, tableLocation(b, table)));
      physical[table.name] = p;
      tables[table.name] = new aws.glue.CatalogTable(
        `${name}-${table.name}`,
        {
          databaseName: this.database.name,
          name: table.name,
          description: table.description,
          tableType: "EXTERNAL_TABLE",
          parameters: p.apply((t) => ({ EXTERNAL: "TRUE", ...t.parameters })),
          partitionKeys: p.apply((t) => t.partitionKeys.map(glueColumn)),
          storageDescriptor: p.apply((t) => ({
            location: t.location,
            inputFormat: t.inputFormat,
            outputFormat: t.outputFormat,
            compressed: t.compressed,
            serDeInfo: {
              name: t.serde.library.split(".").pop(),
              serializationLibrary: t.serde.library,
              parameters: t.serde.parameters,
            },
            columns: t.columns.map(glueColumn),
          })),
        },
        child,
      );
    }
    this.tables = tables;

    this.workgroup = new aws.athena.Workgroup(
      `${name}-workgroup`,
      {
        name: workgroupName,
        description: `Queries on the ${databaseName} database; results encrypted with the pipeline key`,
        configuration: {
          enforceWorkgroupConfiguration: true,
          publishCloudwatchMetricsEnabled: true,
          bytesScannedCutoffPerQuery: cutoff,
          engineVersion: { selectedEngineVersion: "Athena engine version 3" },
          resultConfiguration: {
            outputLocation: pulumi.interpolate`s3://${args.athenaResultsBucket}/${resultsPrefix}`,
            encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKeyArn: args.kmsKeyArn },
            ...(args.expectedResultsBucketOwner
              ? { expectedBucketOwner: args.expectedResultsBucketOwner }
              : {}),
          },
        },
        tags: args.tags,
      },
      child,
    );

    const ddl: Record<string, pulumi.Output<string>> = {};
    for (const { table } of specs) {
      ddl[table.name] = pulumi
        .all([physical[table.name], this.database.name])
        .apply(([t, db]) => createTableDdl(t, db));
      new aws.athena.NamedQuery(
        `${name}-${table.name}-ddl`,
        {
          name: `create_${table.name}`.slice(0, 128),
          description: `CREATE EXTERNAL TABLE for ${databaseName}.${table.name}, generated from its declaration`,
          database: this.database.name,
          workgroup: this.workgroup.name,
          query: ddl[table.name],
        },
        child,
      );
    }
    this.ddl = pulumi.all(ddl);

    this.registerOutputs({
      databaseName: this.databaseName,
      tableNames: Object.keys(tables),
      workgroupName: this.workgroup.name,
      ddl: this.ddl,
    });
  }
}

function glueColumn(c: { name: string; type: string; comment?: string }) {
  return { name: c.name, type: c.type, ...(c.comment ? { comment: c.comment } : {}) };
}
