// `npm run glue`: runs the bundled job-run CLI, rebuilding it first when its sources changed
// since it was built (e.g. after editing cli/ or pulling), so it is never stale.
import { createRequire } from "node:module";
import { BUNDLE, build, isStale } from "./build-cli.mjs";

if (isStale()) await build();
createRequire(import.meta.url)(BUNDLE);
