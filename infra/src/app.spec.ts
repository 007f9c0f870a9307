import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILT_IN_PIPELINES, definePipeline } from '@nightshift/jobs-domain';
import { addNightshiftStacks, type NightshiftStacks } from './app.js';
import { loadInfraConfigFile, parseInfraConfig } from './config.js';

/** The stacks from the bottom up: each may reference only stacks before it. */
const LIFECYCLE_ORDER = ['state', 'messaging', 'compute', 'services', 'observability'] as const satisfies readonly (keyof NightshiftStacks)[];

const outdir = mkdtempSync(join(tmpdir(), 'nightshift-cdk-'));
const EXAMPLE = fileURLToPath(new URL('../config/example.json', import.meta.url));
type Built = { stacks: NightshiftStacks; assembly: CloudAssembly };
const built = new Map<string, Built | { error: unknown }>();

/**
 * The whole app with the configuration of `file` (none: the defaults) and cdk-nag, as src/bin/app.ts
 * builds it, synthesised once per configuration (it takes seconds). Each test calls it, so a synth
 * that fails fails each of them with its report.
 */
function app(file?: string): Built {
  const key = file ?? '(defaults)';
  if (!built.has(key)) {
    try {
      const cdkApp = new App({ outdir: join(outdir, String(built.size)) });
      const stacks = addNightshiftStacks(cdkApp, file ? loadInfraConfigFile(file) : parseInfraConfig({}, 'the default configuration'));
      Validations.of(cdkApp).addPlugins(new AwsSolutionsChecks(cdkApp));
      built.set(key, { stacks, assembly: cdkApp.synth() });
    } catch (error) {
      built.set(key, { error });
    }
  }
  const result = built.get(key)!;
  if ('error' in result) throw result.error;
  return result;
}

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('the nightshift app (default configuration, AwsSolutions checks)', () => {
  it('synthesises with no unacknowledged cdk-nag finding, environment-agnostic', () => {
    const { stacks, assembly } = app();
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(
      ['NightshiftCompute', 'NightshiftMessaging', 'NightshiftObservability', 'NightshiftServices', 'NightshiftState'].sort(),
    );
    for (const stack of Object.values(stacks) as Stack[]) {
      expect(stack.environment, stack.stackName).toBe('aws://unknown-account/unknown-region');
    }
  });

  it('runs the checks for real: an unacknowledged finding fails the synth', () => {
    const probe = new App({ outdir: join(outdir, 'probe') });
    new sqs.Queue(new Stack(probe, 'Probe'), 'WithoutDeadLetters', { enforceSSL: true });
    Validations.of(probe).addPlugins(new AwsSolutionsChecks(probe));
    expect(() => probe.synth()).toThrow(/AwsSolutions-SQS3/);
  });

  it('has dependencies that go one way: each stack depends only on stacks below it, State on none', () => {
    const { stacks } = app();
    const rank = new Map<Stack, number>(LIFECYCLE_ORDER.map((key, i) => [stacks[key], i]));
    expect(stacks.state.dependencies).toEqual([]);
    for (const key of LIFECYCLE_ORDER) {
      for (const dependency of stacks[key].dependencies) {
        const what = `${stacks[key].stackName} depends on ${dependency.stackName}`;
        expect(rank.get(dependency), what).toBeLessThan(rank.get(stacks[key])!);
      }
    }
    expect(stacks.observability.dependencies.map((s) => s.stackName).sort()).toEqual(['NightshiftCompute', 'NightshiftMessaging', 'NightshiftServices']);
  });

  it('keeps State apart: its template imports nothing and no other stack is among its dependencies', () => {
    const { assembly } = app();
    const state = assembly.getStackByName('NightshiftState');
    expect(JSON.stringify(state.template)).not.toContain('Fn::ImportValue');
    const stackNames = new Set(assembly.stacks.map((s) => s.stackName));
    expect(state.dependencies.map((d) => d.id).filter((id) => stackNames.has(id))).toEqual([]);
  });

  it('protects State from deletion, and only State', () => {
    const { assembly } = app();
    const protectedStacks = assembly.stacks.filter((s) => s.terminationProtection).map((s) => s.stackName);
    expect(protectedStacks).toEqual(['NightshiftState']);
  });

  it('retains every table and bucket of State when the stack is deleted', () => {
    const { assembly } = app();
    const template = assembly.getStackByName('NightshiftState').template as { Resources: Record<string, { Type: string; DeletionPolicy?: string }> };
    const statefulTypes = ['AWS::DynamoDB::GlobalTable', 'AWS::DynamoDB::Table', 'AWS::S3::Bucket'];
    const stateful = Object.values(template.Resources).filter((r) => statefulTypes.includes(r.Type));
    expect(stateful.length).toBeGreaterThanOrEqual(4);
    for (const r of stateful) expect(r.DeletionPolicy, r.Type).toBe('Retain');
  });
});

describe('the nightshift app with pipelines of its own', () => {
  it('gives the same pipelines to Messaging (schedules) and Compute (command steps\' job definitions)', () => {
    const pipeline = definePipeline({
      name: 'fills-archive',
      description: 'Archives the fills.',
      trigger: { datasets: ['executions'] },
      schedules: [{ name: 'nightly', expression: 'cron(0 23 ? * MON-FRI *)' }],
      steps: [{ name: 'archive', command: ['archive-fills'] }],
    });
    const cdkApp = new App({ outdir: join(outdir, 'pipelines') });
    const stacks = addNightshiftStacks(cdkApp, parseInfraConfig({}), { pipelines: [...BUILT_IN_PIPELINES, pipeline] });
    expect([...stacks.compute.commandJobDefinitions.definitions.keys()]).toEqual(['nightshift-fills-archive-archive']);
    const schedules = stacks.messaging.schedules.node.findAll().filter((c): c is CfnSchedule => c instanceof CfnSchedule);
    expect(schedules.map((c) => c.name)).toEqual(['fills-archive.nightly']);
  });
});

describe('the nightshift app with infra/config/example.json', () => {
  it('synthesises with no unacknowledged finding: HTTPS API, email subscription, the same stacks', () => {
    const { stacks, assembly } = app(EXAMPLE);
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(app().assembly.stacks.map((s) => s.stackName).sort());
    expect(stacks.state.terminationProtection).toBe(true);
    const services = JSON.stringify(assembly.getStackByName('NightshiftServices').template);
    expect(services).toContain('"Protocol":"HTTPS"');
    const messaging = JSON.stringify(assembly.getStackByName('NightshiftMessaging').template);
    expect(messaging).toContain('oncall@example.com');
  });
});
