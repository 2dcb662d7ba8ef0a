/** The scripts' argument contracts in glue_etl_common.py are generated from the declarations. */
import * as fs from "node:fs";
import { expect } from "chai";
import { PIPELINES } from "../pipelines";
import {
  COMMON_MODULE,
  committedBlock,
  contractsBlock,
  contractsDocument,
} from "../tools/contracts";

interface ScriptContract {
  pipeline: string;
  required: string[];
  optional: Record<string, string | null>;
}

describe("the generated argument contracts", () => {
  it("are committed up to date in glue_etl_common.py (npm run contracts rewrites them)", () => {
    const committed = committedBlock(fs.readFileSync(COMMON_MODULE, "utf8"));
    expect(committed, "the CONTRACTS block of glue_etl_common.py").to.be.a("string");
    expect(committed).to.equal(contractsBlock(PIPELINES));
  });

  it("give each script exactly its declaration's arguments, required or optional", () => {
    const doc = contractsDocument(PIPELINES) as { scripts: Record<string, ScriptContract> };
    expect(Object.keys(doc.scripts).sort()).to.deep.equal(
      PIPELINES.map((p) => p.job.script.replace(/\.py$/, "")).sort(),
    );
    for (const p of PIPELINES) {
      const c = doc.scripts[p.job.script.replace(/\.py$/, "")]!;
      expect(c.pipeline).to.equal(p.name);
      const args = Object.entries(p.job.arguments);
      expect(c.required.map((k) => `--${k}`)).to.deep.equal(
        args.filter(([, a]) => a.required).map(([k]) => k),
      );
      expect(Object.keys(c.optional).map((k) => `--${k}`)).to.deep.equal(
        args.filter(([, a]) => !a.required).map(([k]) => k),
      );
    }
  });

  it("notice a stale block: a changed declaration changes the generated text", () => {
    const [first, ...rest] = PIPELINES;
    const changed = {
      ...first!,
      job: {
        ...first!.job,
        arguments: {
          ...first!.job.arguments,
          "--NEW_ARGUMENT": { required: false, description: "x" },
        },
      },
    };
    expect(contractsBlock([changed, ...rest])).not.to.equal(contractsBlock(PIPELINES));
  });
});
