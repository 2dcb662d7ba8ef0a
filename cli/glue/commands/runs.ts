/** `runs <job>`: recent runs as a table, newest first. */
import type { Context } from "../context";
import { EXIT } from "../errors";
import { duration, money, plural, utc } from "../format";
import { table } from "../../../lib/table";
import { getJob, listRuns } from "../glue-api";
import { ResolveOptions, resolveJob } from "../resolve";
import { rowsOfRuns } from "../rows";
import { newestFirst, runUsage } from "../runs";

export interface RunsOptions extends ResolveOptions {
  readonly limit: number;
  readonly json: boolean;
}

export async function runsCommand(ctx: Context, name: string, o: RunsOptions): Promise<number> {
  const target = await resolveJob(name, o, ctx.io.err);
  const job = await getJob(ctx, target);
  const runs = newestFirst(await listRuns(ctx, target.jobName, o.limit)).slice(0, o.limit);
  const now = ctx.now();
  const counted = await rowsOfRuns(ctx, runs);
  const rows = runs.map((r) => ({
    run: r,
    usage: runUsage(r, job, now),
    counts: r.Id ? counted.get(r.Id) : undefined,
  }));
  if (o.json) {
    ctx.io.out(
      JSON.stringify(
        rows.map(({ run, usage, counts }) => ({
          id: run.Id,
          state: run.JobRunState,
          startedOn: run.StartedOn?.toISOString(),
          completedOn: run.CompletedOn?.toISOString(),
          seconds: usage.seconds,
          dpuHours: usage.dpuSeconds === undefined ? null : usage.dpuSeconds / 3600,
          cost: usage.cost ?? null,
          rows: counts ?? null,
          error: run.ErrorMessage ?? null,
          arguments: run.Arguments ?? {},
        })),
        null,
        2,
      ),
    );
    return EXIT.OK;
  }
  if (rows.length === 0) {
    ctx.io.err(`Job ${target.jobName} has no runs yet.`);
    return EXIT.OK;
  }
  ctx.io.out(
    table(
      [
        { header: "RUN ID" },
        { header: "STATE" },
        { header: "STARTED (UTC)" },
        { header: "DURATION", align: "right" },
        { header: "DPU-HOURS", align: "right" },
        { header: "COST", align: "right" },
        { header: "READ", align: "right" },
        { header: "WRITTEN", align: "right" },
        { header: "REJECTED", align: "right" },
        { header: "ERROR", maxWidth: 60 },
      ],
      rows.map(({ run, usage, counts }) => [
        run.Id ?? "-",
        run.JobRunState ?? "-",
        utc(run.StartedOn),
        duration(usage.seconds),
        usage.dpuSeconds === undefined ? "-" : (usage.dpuSeconds / 3600).toFixed(3),
        usage.cost === undefined ? "-" : money(usage.cost),
        counts ? String(counts.read) : "-",
        counts ? String(counts.written) : "-",
        counts ? String(counts.rejected) : "-",
        run.ErrorMessage ?? "",
      ]),
    ),
  );
  const total = rows.reduce((sum, r) => sum + (r.usage.cost ?? 0), 0);
  ctx.io.err(`${plural(rows.length, "run")} of job ${target.jobName}; total cost ${money(total)}`);
  return EXIT.OK;
}
