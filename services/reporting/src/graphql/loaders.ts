import DataLoader from 'dataloader';
import type { Report, Run, StepExecution } from '@nightshift/jobs-domain';
import type { PlatformApi, StepJobView, TaskView } from '../api/platform-api.js';
import type { Principal } from '../auth/principal.js';
import { principalOf, type GraphQLContext } from './auth.js';
import type { AttemptNode, StepNode, TaskNode } from './types/run.types.js';

/*
 * One request's batch loaders: what the fields of many runs ask for in one execution step is read
 * together. The steps of every run on a page are one batch read (JobStore.getSteps), the tasks of
 * every step one more (JobStore.listTasksOfSteps), so `runs(first: 100) { ... steps { tasks } }`
 * costs a fixed number of store requests instead of one or two per run. Made per request (never
 * shared between callers: every load is the caller's, through PlatformApi's tenant checks) and
 * cached for the request only.
 */

const stepId = (s: Pick<StepExecution, 'runId' | 'step'>): string => JSON.stringify([s.runId, s.step]);

function add<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class RequestLoaders {
  private readonly stepsOfRun: DataLoader<Run, StepNode[], string>;
  private readonly tasksByLimit = new Map<number, DataLoader<StepNode, TaskNode[], string>>();
  private readonly jobsOfStep: DataLoader<StepNode, StepJobView | undefined, string>;
  private readonly documents: DataLoader<Report, unknown, string>;

  constructor(
    private readonly api: PlatformApi,
    private readonly caller: Principal,
  ) {
    this.stepsOfRun = new DataLoader<Run, StepNode[], string>(
      async (runs) => {
        const byRun = await api.stepsOfRuns(caller, runs);
        return runs.map((run) => (byRun.get(run.runId) ?? []).map((step) => ({ ...step, name: step.step, run })));
      },
      { cacheKeyFn: (run) => run.runId },
    );
    this.jobsOfStep = new DataLoader<StepNode, StepJobView | undefined, string>(
      async (steps) => {
        const byRun = new Map<string, StepNode[]>();
        for (const step of steps) add(byRun, step.runId, step);
        const jobs = new Map<string, StepJobView | undefined>();
        await Promise.all(
          [...byRun.values()].map(async (ofRun) => {
            const views = await api.stepJobs(caller, ofRun[0]!.run, ofRun);
            ofRun.forEach((step, i) => jobs.set(stepId(step), views[i]));
          }),
        );
        return steps.map((step) => jobs.get(stepId(step)));
      },
      { cacheKeyFn: stepId },
    );
    this.documents = new DataLoader<Report, unknown, string>(async (reports) => Promise.all(reports.map((r) => api.reportDocument(caller, r).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))))), {
      cacheKeyFn: (r) => r.reportId,
    });
  }

  /** The loaders of the request `context` belongs to (made on first use). */
  static of(context: GraphQLContext, api: PlatformApi): RequestLoaders {
    context.loaders ??= new RequestLoaders(api, principalOf(context));
    return context.loaders;
  }

  /** The run's steps, by name. */
  steps(run: Run): Promise<StepNode[]> {
    return this.stepsOfRun.load(run);
  }

  /** The step's task records, of its first `indexLimit` children (all when absent). */
  tasks(step: StepNode, indexLimit?: number): Promise<TaskNode[]> {
    // A limit the step does not reach reads all of it: one loader (one batch read) for both.
    const limit = indexLimit === undefined || indexLimit >= step.size ? 0 : indexLimit;
    let loader = this.tasksByLimit.get(limit);
    if (!loader) {
      loader = new DataLoader<StepNode, TaskNode[], string>(
        async (steps) => {
          const tasks = await this.api.tasksOfSteps(
            this.caller,
            steps.map((step) => ({ run: step.run, step })),
            limit === 0 ? {} : { indexLimit: limit },
          );
          const byStep = new Map<string, TaskNode[]>();
          const nodeOf = new Map(steps.map((s) => [stepId(s), s]));
          for (const task of tasks) {
            const id = stepId(task);
            add(byStep, id, taskNode(task, nodeOf.get(id)!));
          }
          return steps.map((s) => byStep.get(stepId(s)) ?? []);
        },
        { cacheKeyFn: stepId },
      );
      this.tasksByLimit.set(limit, loader);
    }
    return loader.load(step);
  }

  /** The step's job as the compute environment sees it now (undefined unless SUBMITTED). */
  job(step: StepNode): Promise<StepJobView | undefined> {
    return this.jobsOfStep.load(step);
  }

  /** A listed report's document. */
  document(report: Report): Promise<unknown> {
    return this.documents.load(report);
  }
}

function duration(from?: string, to?: string): number | undefined {
  return from && to ? Date.parse(to) - Date.parse(from) : undefined;
}

function taskNode(task: TaskView, stepOf: StepNode): TaskNode {
  const attempts: AttemptNode[] = task.attempts.map((a) => {
    const durationMs = duration(a.startedAt, a.stoppedAt);
    return { ...a, stepOf, ...(durationMs !== undefined ? { durationMs } : {}) };
  });
  return { ...task, attempts, stepOf };
}
