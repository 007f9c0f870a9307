import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { definePipeline, type PipelineDefinition } from '@nightshift/jobs-domain';
import { InfraConfigError } from '../config.js';
import { flattenCfnReference } from '../stacks/compute-stack.js';
import { CommandJobDefinitions, commandStepsOf } from './command-job-definitions.js';

/*
 * What the construct refuses and how it names images; the job definitions themselves are asserted
 * in the compute stack's spec, on the stack that deploys them.
 */

const pipeline = (name: string, steps: Array<Record<string, unknown>>): PipelineDefinition =>
  definePipeline({ name, description: 'test', trigger: { datasets: ['executions'] }, steps });

/** The construct alone in a stack, with stand-ins for the worker's image, roles and log group. */
function definitionsOf(pipelines: readonly PipelineDefinition[]): { stack: Stack; template: () => Template } {
  // The built-in CloudFormation schema check costs seconds per synth; the full app's spec runs it.
  const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Test');
  const role = (id: string) => new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  new CommandJobDefinitions(stack, 'CommandSteps', {
    pipelines,
    workerImage: ecs.ContainerImage.fromRegistry('nightshift-worker:test'),
    jobRole: role('JobRole'),
    executionRole: role('ExecutionRole'),
    logGroup: new logs.LogGroup(stack, 'Logs'),
    environment: { NIGHTSHIFT_MODE: 'aws' },
  });
  return { stack, template: () => Template.fromStack(stack) };
}

/** The InfraConfigError `f` throws. */
function refusal(f: () => unknown): InfraConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InfraConfigError);
    return e as InfraConfigError;
  }
  return expect.unreachable('nothing was refused');
}

describe('commandStepsOf', () => {
  it('lists the command steps of every pipeline, bare or not, with the name the planner submits to', () => {
    const steps = commandStepsOf([
      pipeline('a', [{ name: 'x', analytic: 'tca' }, { name: 'y', command: ['true'], dependsOn: ['x'] }]),
      pipeline('b', [{ name: 'z', command: ['true'], bare: true }, { name: 'w', wait: { seconds: 60 }, dependsOn: ['z'] }]),
    ]);
    expect(steps.map((s) => [s.pipeline, s.step.name, s.jobDefinitionName])).toEqual([
      ['a', 'y', 'nightshift-a-y'],
      ['b', 'z', 'nightshift-b-z'],
    ]);
  });

  it('refuses two steps that would share a job definition, naming both', () => {
    const error = refusal(() =>
      commandStepsOf([pipeline('desk-fills', [{ name: 'export', command: ['true'] }]), pipeline('desk', [{ name: 'fills-export', command: ['true'] }])]),
    );
    expect(error.message).toBe(
      'pipeline desk step fills-export and pipeline desk-fills step export would share the AWS Batch job definition ' +
        'nightshift-desk-fills-export: rename one of them',
    );
  });

  it('refuses names that meet only once cut to 128 characters', () => {
    const long = `p${'x'.repeat(62)}`;
    const steps = (suffix: string) => [{ name: `${'s'.repeat(60)}${suffix}`, command: ['true'] }];
    expect(() => commandStepsOf([pipeline(long, [...steps('aa'), ...steps('bb')])])).toThrow(/would share the AWS Batch job definition/);
  });
});

describe('CommandJobDefinitions', () => {
  it('refuses what AWS Batch would: a timeout under 60 s, fewer than 1 vCPU on EC2', () => {
    expect(refusal(() => definitionsOf([pipeline('quick', [{ name: 'ping', command: ['true'], timeoutSeconds: 30 }])])).message).toBe(
      "pipeline quick step ping: timeoutSeconds 30 is below AWS Batch's minimum of 60",
    );
    expect(refusal(() => definitionsOf([pipeline('small', [{ name: 'ping', command: ['true'], vcpus: 0.25 }])])).message).toBe(
      "pipeline small step ping: vcpus 0.25 is below AWS Batch's minimum of 1 on EC2 compute environments",
    );
  });

  it('pulls an image of another registry as named, and an ECR image by digest from its repository', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const { template } = definitionsOf([
      pipeline('images', [
        { name: 'public', command: ['python', '-V'], image: 'public.ecr.aws/docker/library/python:3.12-slim' },
        { name: 'pinned', command: ['tool'], image: `210987654321.dkr.ecr.us-east-2.amazonaws.com/team/tools@${digest}`, dependsOn: ['public'] },
        { name: 'worker', command: ['true'], dependsOn: ['pinned'] },
      ]),
    ]);
    const images = Object.fromEntries(
      Object.values(template().findResources('AWS::Batch::JobDefinition')).map((r) => [
        (r as { Properties: { JobDefinitionName: string } }).Properties.JobDefinitionName,
        flattenCfnReference((r as { Properties: { ContainerProperties: { Image: unknown } } }).Properties.ContainerProperties.Image),
      ]),
    );
    expect(images).toEqual({
      'nightshift-images-public': 'public.ecr.aws/docker/library/python:3.12-slim',
      'nightshift-images-pinned': `210987654321.dkr.ecr.us-east-2.<AWS::URLSuffix>/team/tools@${digest}`,
      'nightshift-images-worker': 'nightshift-worker:test',
    });
  });
});
