import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { JOB_STORE_TABLE_DESIGN } from '@nightshift/jobs-dynamodb';
import { parseInfraConfig } from '../config.js';
import { STATE_OUTPUTS, StateStack } from './state-stack.js';

// Not the defaults, so that each lifecycle rule is seen to come from the configuration.
const config = parseInfraConfig({
  prefix: 'ns-test',
  retention: { logDays: 45, claimCheckDays: 16, landingInfrequentAccessDays: 35, noncurrentVersionDays: 60 },
});

describe('StateStack', () => {
  let stack: StateStack;
  let template: Template;
  const logicalId = (bucket: s3.IBucket): string => stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
  const accessLogs = (): string => logicalId(stack.node.findChild('AccessLogs') as s3.IBucket);

  beforeAll(() => {
    stack = new StateStack(new App(), 'State', { config });
    template = Template.fromStack(stack);
  });

  describe('the job-state table', () => {
    it('has the job store key design, on-demand billing and TTL on its expiry attribute, named after the prefix', () => {
      template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
      template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        TableName: 'ns-test',
        KeySchema: [
          { AttributeName: JOB_STORE_TABLE_DESIGN.partitionKey, KeyType: 'HASH' },
          { AttributeName: JOB_STORE_TABLE_DESIGN.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: JOB_STORE_TABLE_DESIGN.partitionKey, AttributeType: 'S' },
          { AttributeName: JOB_STORE_TABLE_DESIGN.sortKey, AttributeType: 'S' },
        ]),
        BillingMode: JOB_STORE_TABLE_DESIGN.billingMode,
        TimeToLiveSpecification: { AttributeName: JOB_STORE_TABLE_DESIGN.ttlAttribute, Enabled: true },
      });
    });

    it('has point-in-time recovery and deletion protection, and is retained', () => {
      template.hasResource('AWS::DynamoDB::GlobalTable', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: Match.objectLike({
          Replicas: [
            Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true }),
          ],
        }),
      });
    });
  });

  describe('buckets', () => {
    it('are the three data buckets and the access-log bucket, every one encrypted, private and retained', () => {
      template.resourceCountIs('AWS::S3::Bucket', 4);
      const buckets = template.findResources('AWS::S3::Bucket');
      for (const [id, bucket] of Object.entries(buckets)) {
        expect(bucket, id).toMatchObject({
          DeletionPolicy: 'Retain',
          UpdateReplacePolicy: 'Retain',
          Properties: {
            BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
            PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
          },
        });
        expect(bucket.Properties.AccessControl, `${id} uses no ACL`).toBeUndefined();
      }
    });

    it('refuse every request not made over TLS', () => {
      const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
      const buckets = Object.keys(template.findResources('AWS::S3::Bucket'));
      expect(policies.map((p) => (p.Properties.Bucket as { Ref: string }).Ref).sort()).toEqual([...buckets].sort());
      for (const policy of policies) {
        expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
          expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        );
      }
    });

    it('log their requests to the access-log bucket, one prefix each', () => {
      const { landing, results, claimChecks } = stack.buckets;
      for (const [bucket, prefix] of [
        [landing, 'landing/'],
        [results, 'results/'],
        [claimChecks, 'claim-checks/'],
      ] as const) {
        expect(template.toJSON().Resources[logicalId(bucket)].Properties.LoggingConfiguration).toEqual({
          DestinationBucketName: { Ref: accessLogs() },
          LogFilePrefix: prefix,
        });
      }
    });

    it('version results only, expiring overwritten versions after noncurrentVersionDays', () => {
      const resources = template.toJSON().Resources;
      expect(resources[logicalId(stack.buckets.results)].Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(resources[logicalId(stack.buckets.landing)].Properties.VersioningConfiguration).toBeUndefined();
      expect(resources[logicalId(stack.buckets.claimChecks)].Properties.VersioningConfiguration).toBeUndefined();
      expect(resources[logicalId(stack.buckets.results)].Properties.LifecycleConfiguration.Rules).toEqual([
        { NoncurrentVersionExpiration: { NoncurrentDays: 60 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' },
      ]);
    });

    it('move landed files to Infrequent Access after landingInfrequentAccessDays', () => {
      expect(template.toJSON().Resources[logicalId(stack.buckets.landing)].Properties.LifecycleConfiguration.Rules).toEqual([
        { Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 35 }], AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' },
      ]);
    });

    it('expire claim checks after claimCheckDays', () => {
      expect(template.toJSON().Resources[logicalId(stack.buckets.claimChecks)].Properties.LifecycleConfiguration.Rules).toEqual([
        { ExpirationInDays: 16, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' },
      ]);
    });

    it('let only S3 log delivery, on behalf of our own buckets, write access logs', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: accessLogs() },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Action: 's3:PutObject',
              Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalId(stack.buckets.landing), 'Arn'] } }, StringEquals: Match.anyValue() },
            }),
          ]),
        },
      });
    });
  });

  describe('outputs', () => {
    it('name the table and each data bucket, each with a description, and export nothing', () => {
      const table = stack.getLogicalId(stack.table.node.defaultChild as dynamodb.CfnGlobalTable);
      const { landing, results, claimChecks } = stack.buckets;
      const outputs = template.findOutputs('*');
      expect(Object.keys(outputs).sort()).toEqual(['ClaimChecksBucketName', 'LandingBucketName', 'ResultsBucketName', 'TableName']);
      expect(Object.keys(outputs).sort()).toEqual(Object.values(STATE_OUTPUTS).sort());
      const valueOf = (key: string): unknown => outputs[key].Value;
      expect(valueOf(STATE_OUTPUTS.table)).toEqual({ Ref: table });
      expect(valueOf(STATE_OUTPUTS.landingBucket)).toEqual({ Ref: logicalId(landing) });
      expect(valueOf(STATE_OUTPUTS.resultsBucket)).toEqual({ Ref: logicalId(results) });
      expect(valueOf(STATE_OUTPUTS.claimChecksBucket)).toEqual({ Ref: logicalId(claimChecks) });
      for (const [key, output] of Object.entries(outputs)) {
        expect(String(output.Description).length, `${key} has a description`).toBeGreaterThan(20);
        expect(output.Export, `${key} is an output, not an export`).toBeUndefined();
      }
      expect(outputs[STATE_OUTPUTS.landingBucket].Description).toContain('landing/');
      expect(outputs[STATE_OUTPUTS.resultsBucket].Description).toContain('NIGHTSHIFT_BUCKET');
      expect(outputs[STATE_OUTPUTS.claimChecksBucket].Description).toContain('claim-checks/');
    });
  });
});

describe('StateStack under cdk-nag AwsSolutions', () => {
  it('synthesizes without unacknowledged findings', () => {
    const app = new App();
    new StateStack(app, 'State', { config });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
