import { describe, expect, it } from 'vitest';
import { aDatasetVersion, T0 } from '../testing/builders.js';
import { planRun } from '../planning/planner.js';
import { definePipeline, topologicalSteps } from './pipeline-definition.js';
import { BUILT_IN_PIPELINES, NIGHTLY_TCA } from './pipelines.js';

describe('built-in pipelines', () => {
  it('are valid definitions with unique names', () => {
    for (const pipeline of BUILT_IN_PIPELINES) {
      expect(definePipeline(pipeline)).toEqual(pipeline);
      expect(topologicalSteps(pipeline)).toHaveLength(pipeline.steps.length);
    }
    const names = BUILT_IN_PIPELINES.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('nightly-tca is triggered by executions and plans an execution and a TCA task per desk, TCA after execution', () => {
    expect(NIGHTLY_TCA.trigger.datasets).toEqual(['executions']);
    const { tasks } = planRun({ pipeline: NIGHTLY_TCA, dataset: aDatasetVersion(), triggerEventId: 'evt-1', correlationId: 'c-1', now: T0 });
    expect(tasks.map((t) => t.taskId)).toEqual([
      'execution#apac-cash', 'execution#emea-cash', 'execution#us-program',
      'tca#apac-cash', 'tca#emea-cash', 'tca#us-program',
    ]);
    expect(topologicalSteps(NIGHTLY_TCA).map((s) => s.name)).toEqual(['execution', 'tca']);
  });
});
