import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import type { DatasetVersion, LandingOutcome } from '@nightshift/jobs-domain';
import { Connection } from '../connection.js';

/** One file of a dataset version. */
@ObjectType('DatasetFile')
export class DatasetFile {
  @Field({ description: 'The table the file holds rows of (orders, fills, quotes, ...).' })
  table!: string;

  @Field({ description: 'Its key in the object store.' })
  key!: string;

  @Field(() => String, { nullable: true, description: 'The desk (partition) whose rows it holds; none for a file every partition shares.' })
  desk?: string;

  @Field(() => Int)
  rows!: number;

  @Field({ description: 'sha256 of its bytes, hex.' })
  checksum!: string;

  @Field(() => Int)
  bytes!: number;
}

/** A dataset version as resolvers pass it on. */
export type DatasetNode = DatasetVersion;

@ObjectType('Dataset', { description: 'A registered, validated version of a dataset for one business date.' })
export class DatasetType {
  @Field(() => ID, { description: '`<dataset>@<businessDate>#v<version>`' })
  datasetId!: string;

  @Field()
  dataset!: string;

  @Field()
  businessDate!: string;

  @Field(() => Int)
  version!: number;

  @Field(() => [DatasetFile])
  files!: DatasetFile[];

  @Field(() => Int)
  rowCount!: number;

  @Field(() => [String])
  partitions!: string[];

  @Field()
  manifestKey!: string;

  @Field({ description: 'The id of the Dataset Landed event that registered it.' })
  landedEventId!: string;

  @Field()
  registeredAt!: string;
}

@ObjectType()
export class DatasetConnection extends Connection(DatasetType, 'Dataset') {}

export const LandingStatus = { ACCEPTED: 'ACCEPTED', REJECTED: 'REJECTED' } as const;
registerEnumType(LandingStatus, { name: 'LandingStatus' });

@ObjectType('DataProblem', { description: 'One thing wrong with a landing.' })
export class DataProblem {
  @Field()
  message!: string;

  @Field(() => String, { nullable: true, description: 'JSON path of the offending field of the event, e.g. `detail.files[0].table`.' })
  path?: string;

  @Field(() => String, { nullable: true })
  file?: string;

  @Field(() => Int, { nullable: true })
  line?: number;

  @Field(() => String, { nullable: true })
  column?: string;
}

/** A landing's outcome as resolvers pass it on. */
export type LandingNode = LandingOutcome & { dataset?: DatasetVersion | string };

@ObjectType('Landing', { description: 'What became of a Dataset Landed event: the version it registered (or was answered with), or why it was rejected.' })
export class LandingType {
  @Field(() => ID)
  landedEventId!: string;

  @Field(() => LandingStatus)
  status!: string;

  @Field({ description: 'When the version was registered (the answer given, for one already registered) or the landing rejected.' })
  at!: string;

  @Field(() => String, { nullable: true, description: 'ACCEPTED: the version.' })
  datasetId?: string;

  @Field(() => Boolean, { nullable: true, description: 'ACCEPTED: the landing held the content of an earlier version, which it names; nothing new was registered.' })
  alreadyRegistered?: boolean;

  @Field(() => [DataProblem], { nullable: true, description: 'REJECTED: every problem found.' })
  reasons?: DataProblem[];

  @Field(() => Int, { nullable: true, description: 'REJECTED: reasons left out when there were too many to keep.' })
  omittedReasons?: number;

  @Field(() => String, { nullable: true, description: 'REJECTED: the dataset name, as far as it could be read.' })
  datasetName?: string;

  @Field(() => String, { nullable: true, description: 'REJECTED: the business date, as far as it could be read.' })
  businessDate?: string;
}
