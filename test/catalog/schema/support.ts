/** What the schema tests share: a sample declaration, its DDL, and the problems of a bad one. */
import { expect } from "chai";
import {
  SchemaValidationError,
  TableDeclaration,
  createTableDdl,
  physicalTable,
  validateTable,
} from "../../../lib/schema";

export const ddlOf = (decl: TableDeclaration, bucket = "data-bucket", db = "analytics") =>
  createTableDdl(physicalTable(decl, `s3://${bucket}/${decl.prefix}`), db);

/** The problems of a declaration that must fail validation, as "field: allowed" lines. */
export function problemsOf(
  decl: TableDeclaration,
): { field: string; value: unknown; allowed: string }[] {
  try {
    validateTable(decl);
  } catch (e) {
    expect(e).to.be.instanceOf(SchemaValidationError);
    return [...(e as SchemaValidationError).problems];
  }
  throw new Error(`expected ${decl.name} to be rejected`);
}

export const orders: TableDeclaration = {
  name: "orders_raw",
  description: "Orders as exported by the shop",
  columns: [
    { name: "order_id", type: "string", comment: "Shop's order number" },
    { name: "customer", type: "string" },
    { name: "quantity", type: "int" },
    { name: "total", type: "double" },
  ],
  partitionKeys: [
    { name: "year", type: "int" },
    { name: "region", type: "string" },
  ],
  format: { kind: "csv" },
  prefix: "landing/orders/",
};
