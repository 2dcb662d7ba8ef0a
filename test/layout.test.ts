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
});
