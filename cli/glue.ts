/**
 * The job-run CLI: `npm run glue -- <command>`. See cli/glue/cli.ts and `--help`.
 */
import { main } from "./glue/cli";
import { processIo } from "./glue/terminal";

// The project supports Node 20 (package.json engines); the SDK's notice about future releases
// would print on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const controller = new AbortController();
process.on("SIGINT", () => {
  // A second Ctrl-C while the CLI is winding down exits at once.
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
});

main({ argv: process.argv.slice(2), io: processIo(), env: process.env, signal: controller.signal })
  .then((code) => {
    process.exitCode = code;
  })
  .catch((e: unknown) => {
    process.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 70;
  });
