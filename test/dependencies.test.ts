/**
 * package.json says what each dependency is for: whatever `pulumi up` (the program and the Lambda
 * it bundles) or the job-run CLI imports is a runtime dependency, so `npm ci --omit=dev` is enough
 * to deploy and operate, and every runtime dependency is used by one of them.
 */
import * as path from "node:path";
import { builtinModules } from "node:module";
import { expect } from "chai";
import * as esbuild from "esbuild";
import pkg from "../package.json";

const ROOT = path.resolve(__dirname, "..");
const runtime = Object.keys(pkg.dependencies);

/** The packages a file and its own imports load, found by esbuild with packages left out. */
function packagesImportedBy(entry: string): string[] {
  const { metafile } = esbuild.buildSync({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: "node",
    packages: "external",
    metafile: true,
    logLevel: "silent",
  });
  const names = new Set<string>();
  for (const input of Object.values(metafile.inputs)) {
    for (const i of input.imports) {
      // esbuild lists the repo's own imports it erased (type-only) as external too.
      if (!i.external || /^[./]/.test(i.path)) continue;
      if (i.path.startsWith("node:") || builtinModules.includes(i.path)) continue;
      const parts = i.path.split("/");
      names.add(parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]);
    }
  }
  return [...names].sort();
}

describe("dependencies", () => {
  const program = [
    ...new Set([
      ...packagesImportedBy("index.ts"),
      // Bundled by esbuild during `pulumi up` (components/events/s3-event-job-starter.ts), so needed then too.
      ...packagesImportedBy("lambda/start-job-run.ts"),
    ]),
  ];
  const cli = packagesImportedBy("cli/glue.ts");

  it("the program and the Lambda it deploys import only runtime dependencies", () => {
    expect(program).to.include("@pulumi/pulumi");
    expect(program.filter((p) => !runtime.includes(p))).to.deep.equal([]);
  });

  it("the job-run CLI imports only runtime dependencies (its bundle is built on install)", () => {
    expect(cli).to.include("commander");
    expect(cli.filter((p) => !runtime.includes(p))).to.deep.equal([]);
  });

  it("has Pulumi's compiler and Node's types at runtime, and no runtime dependency unused", () => {
    // Pulumi compiles and type-checks the program with the project's own TypeScript and ts-node.
    const compiler = ["typescript", "ts-node", "@types/node"];
    for (const c of compiler) expect(runtime).to.include(c);
    const used = new Set([...program, ...cli, ...compiler]);
    expect(runtime.filter((d) => !used.has(d))).to.deep.equal([]);
  });
});
