import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";

const COMPONENTS = path.join(__dirname, "..", "components");

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? tsFiles(path.join(dir, e.name))
        : e.name.endsWith(".ts")
          ? [path.join(dir, e.name)]
          : [],
    );
}

describe("layout", () => {
  it("each component's type token is glue-etl:<its file under components/>:<Type>, one per file", () => {
    const tokens = tsFiles(COMPONENTS).flatMap((file) => {
      const module = path.relative(COMPONENTS, file).replace(/\.ts$/, "").split(path.sep).join("/");
      const found = [...fs.readFileSync(file, "utf8").matchAll(/super\(\s*"(glue-etl:[^"]+)"/g)];
      expect(found.length, module).to.be.at.most(1);
      return found.map((m) => ({ module, token: m[1]! }));
    });
    expect(tokens.length).to.be.greaterThan(15);
    for (const { module, token } of tokens)
      expect(token, module).to.match(new RegExp(`^glue-etl:${module}:[A-Z][A-Za-z0-9]*$`));
  });

  it("scripts/ holds only what is uploaded to S3: job scripts, their module and rules", () => {
    const scripts = path.join(__dirname, "..", "scripts");
    const kinds = new Set(
      fs
        .readdirSync(scripts, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && !e.parentPath.includes("__pycache__"))
        .map((e) => path.extname(e.name)),
    );
    expect([...kinds].sort()).to.deep.equal([".csv", ".py"]);
  });

  it("Glue's own terms are written once, in lib/glue.ts (prices in lib/pricing.ts)", () => {
    const root = path.join(__dirname, "..");
    const sources = [
      ...["components", "lib", "tools", "cli"].flatMap((d) => tsFiles(path.join(root, d))),
      path.join(root, "index.ts"),
      // Prices have their own module, which the CLI and the cost estimate read.
    ].filter((f) => !["glue.ts", "pricing.ts"].includes(path.relative(path.join(root, "lib"), f)));
    // Worker types, the Glue version, the 7-day timeout limit, the Spark command, DPU prices.
    const literal = /"[GR]\.\d+X"|"5\.0"|\b10080\b|"glueetl"|\b0\.(44|29)\b/;
    const found = sources.flatMap((f) =>
      fs
        .readFileSync(f, "utf8")
        .split("\n")
        .map((line, i) => ({ at: `${path.relative(root, f)}:${i + 1}`, line }))
        .filter(({ line }) => literal.test(line) && !/^\s*(\*|\/\/)/.test(line)),
    );
    expect(found.map((x) => `${x.at}: ${x.line.trim()}`)).to.deep.equal([]);
  });
});
