/** Everything the commands need AWS for; cli.ts loads this module only when a command runs. */
export { checkProfile, createAws } from "../aws";
export { getJob } from "../glue-api";
export { backfillCommand } from "./backfill";
export { bookmarkResetCommand } from "./bookmark";
export { runCommand } from "./run";
export { runsCommand } from "./runs";
export { latestRunId, watchRun } from "./watch";
