import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import { JOB_STORE_TABLE_DESIGN } from '@nightshift/jobs-dynamodb';
import type { InfraConfig } from '../config.js';

/** Props of {@link StateStack}. */
export interface StateStackProps extends StackProps {
  /** The deployment's configuration: `prefix` names the table, `retention` sets the buckets' lifecycle rules. */
  config: InfraConfig;
}

/**
 * Uploads that never completed cost storage and are invisible in listings; a week is far longer
 * than any upload of ours (landed files, worker results) takes.
 */
const ABORT_INCOMPLETE_UPLOADS_AFTER = Duration.days(7);

/**
 * The keys of the stack's outputs, which operators (and docs/deploy.md) read the generated bucket
 * names from: `aws cloudformation describe-stacks --stack-name <Prefix>State
 * --query "Stacks[0].Outputs[?OutputKey=='LandingBucketName'].OutputValue" --output text`.
 * Outputs, not exports: no stack imports them, so they never hold a resource against replacement.
 */
export const STATE_OUTPUTS = {
  table: 'TableName',
  landingBucket: 'LandingBucketName',
  resultsBucket: 'ResultsBucketName',
  claimChecksBucket: 'ClaimChecksBucketName',
} as const;

/**
 * Everything nightshift keeps: the job-state table and the landing, results and claim-check
 * buckets, plus the bucket their server access logs go to. All of it is retained when the stack is
 * deleted (and app.ts turns on termination protection), so that redeploying or removing the
 * other stacks never loses data.
 *
 * The table is named `${prefix}`, the services' `NIGHTSHIFT_TABLE`: a fixed name makes
 * CloudFormation refuse any change that would replace it (a replacement would be an empty table,
 * the old one orphaned), and the runbook can name it. Buckets get generated names (S3 names are
 * global); read them from {@link StateStack.buckets}, or from the stack's outputs ({@link STATE_OUTPUTS}).
 */
export class StateStack extends Stack {
  /** The job store's table (`JOB_STORE_TABLE_DESIGN`): on-demand, PITR, deletion protection, TTL. */
  readonly table: dynamodb.TableV2;
  /**
   * `landing`: files upstream systems deliver (to Infrequent Access after a while);
   * `results`: outputs of runs and reports (versioned: an overwrite can be undone);
   * `claimChecks`: event details too large for EventBridge, needed only while an event can still be queued.
   */
  readonly buckets: { landing: s3.Bucket; results: s3.Bucket; claimChecks: s3.Bucket };

  constructor(scope: Construct, id: string, props: StateStackProps) {
    super(scope, id, props);
    // Log delivery through a bucket policy scoped to each source bucket, not the legacy LogDeliveryWrite
    // ACL (which would force ACLs back on). A feature flag, set here so that it holds whatever cdk.json says.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const { prefix, retention } = props.config;

    this.table = new dynamodb.TableV2(this, 'JobStore', {
      tableName: prefix,
      partitionKey: { name: JOB_STORE_TABLE_DESIGN.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: JOB_STORE_TABLE_DESIGN.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      timeToLiveAttribute: JOB_STORE_TABLE_DESIGN.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const accessLogs = this.bucket('AccessLogs', {
      // ACLs off: log delivery writes through the bucket policy (the flag above), so the bucket owns every log object.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Kept as long as the deployment's other logs. cdk-nag's S1 accepts a bucket that is itself a log destination.
      lifecycleRules: [{ expiration: Duration.days(retention.logDays), abortIncompleteMultipartUploadAfter: ABORT_INCOMPLETE_UPLOADS_AFTER }],
    });

    const logged = (name: string): Pick<s3.BucketProps, 'serverAccessLogsBucket' | 'serverAccessLogsPrefix'> => ({
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: `${name}/`,
    });
    this.buckets = {
      landing: this.bucket('Landing', {
        ...logged('landing'),
        lifecycleRules: [
          {
            transitions: [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(retention.landingInfrequentAccessDays) }],
            abortIncompleteMultipartUploadAfter: ABORT_INCOMPLETE_UPLOADS_AFTER,
          },
        ],
      }),
      results: this.bucket('Results', {
        ...logged('results'),
        versioned: true,
        lifecycleRules: [
          {
            noncurrentVersionExpiration: Duration.days(retention.noncurrentVersionDays),
            abortIncompleteMultipartUploadAfter: ABORT_INCOMPLETE_UPLOADS_AFTER,
          },
        ],
      }),
      claimChecks: this.bucket('ClaimChecks', {
        ...logged('claim-checks'),
        lifecycleRules: [{ expiration: Duration.days(retention.claimCheckDays), abortIncompleteMultipartUploadAfter: ABORT_INCOMPLETE_UPLOADS_AFTER }],
      }),
    };

    new CfnOutput(this, STATE_OUTPUTS.table, {
      value: this.table.tableName,
      description: 'The job-state DynamoDB table (the services\' NIGHTSHIFT_TABLE)',
    });
    new CfnOutput(this, STATE_OUTPUTS.landingBucket, {
      value: this.buckets.landing.bucketName,
      description: 'The landing bucket: upstream systems put files under landing/ (NIGHTSHIFT_LANDING_BUCKET)',
    });
    new CfnOutput(this, STATE_OUTPUTS.resultsBucket, {
      value: this.buckets.results.bucketName,
      description: 'The results bucket, versioned: datasets/, runs/ and reports/ (NIGHTSHIFT_BUCKET)',
    });
    new CfnOutput(this, STATE_OUTPUTS.claimChecksBucket, {
      value: this.buckets.claimChecks.bucketName,
      description: 'The claim-check bucket: event details too large for EventBridge, under claim-checks/ (NIGHTSHIFT_CLAIM_CHECK_BUCKET)',
    });
  }

  /** A private, SSE-S3 encrypted, TLS-only bucket that outlives the stack. */
  private bucket(id: string, props: s3.BucketProps): s3.Bucket {
    return new s3.Bucket(this, id, {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...props,
    });
  }
}
