import { planKeyFor, StaleStateError, type RunPlan } from '@nightshift/jobs-domain';
import { ObjectNotFoundError, type ObjectStore } from '@nightshift/storage-domain';

/**
 * Reads run plans from the object store. A plan never changes once written, so keeping recent ones
 * in memory is a cache any process may hold (or lose) without affecting correctness.
 */
export class PlanCache {
  private readonly plans = new Map<string, RunPlan>();

  constructor(
    private readonly objects: ObjectStore,
    private readonly capacity = 1_000,
  ) {}

  async get(runId: string): Promise<RunPlan> {
    const hit = this.plans.get(runId);
    if (hit) {
      // Most recently used last, so the oldest is first to go.
      this.plans.delete(runId);
      this.plans.set(runId, hit);
      return hit;
    }
    let plan: RunPlan;
    try {
      plan = JSON.parse(Buffer.from(await this.objects.get(planKeyFor(runId))).toString('utf8')) as RunPlan;
    } catch (e) {
      if (e instanceof ObjectNotFoundError) throw new StaleStateError('run plan', runId, 'written before the run was created', { cause: e });
      throw e;
    }
    this.remember(plan);
    return plan;
  }

  remember(plan: RunPlan): void {
    this.plans.set(plan.runId, plan);
    if (this.plans.size > this.capacity) this.plans.delete(this.plans.keys().next().value as string);
  }

  /** A step's partitions in array-index order. */
  async partitions(runId: string, step: string): Promise<string[]> {
    const found = (await this.get(runId)).steps.find((s) => s.step === step);
    if (!found) throw new StaleStateError('step', `${runId}/${step}`, 'part of the run plan');
    return found.partitions;
  }
}
