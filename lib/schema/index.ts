/**
 * Catalog tables declared once: columns with Hive types, partition keys, a storage format preset
 * and optional Athena partition projection. From one declaration come both the Glue table (SerDe,
 * input/output formats, parameters) and the Athena `CREATE EXTERNAL TABLE` DDL, so the two cannot
 * drift. Pure: no Pulumi calls, so every rule here is tested directly.
 */
export {
  ColumnDeclaration,
  TextCompression,
  CsvFormat,
  JsonFormat,
  ParquetFormat,
  TableFormat,
  EnumProjection,
  IntegerProjection,
  DATE_UNITS,
  DateUnit,
  DateProjection,
  InjectedProjection,
  ProjectionSpec,
  PartitionProjection,
  TableDeclaration,
  PhysicalTable,
  SchemaProblem,
  SchemaValidationError,
  SERDE,
  IO_FORMAT,
} from "./declaration";
export {
  catalogNameProblem,
  validateCatalogName,
  DDL_RESERVED_WORDS,
  quoteIdentifier,
} from "./names";
export { canonicalType } from "./hive-types";
export { validateTable } from "./validation";
export { locationTemplate } from "./projection";
export { tableLocation, physicalTable, createTableDdl } from "./ddl";
