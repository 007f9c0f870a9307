import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { Connection } from '../connection.js';

@ObjectType('DeadLetterEvent', { description: 'The event a dead letter carries, in brief.' })
export class DeadLetterEvent {
  @Field()
  id!: string;

  @Field()
  source!: string;

  @Field()
  detailType!: string;

  @Field()
  time!: string;

  @Field(() => String, { nullable: true })
  tenant?: string;

  @Field(() => String, { nullable: true })
  correlationId?: string;
}

@ObjectType('DeadLetter', { description: "A message a service's queue gave up on." })
export class DeadLetterType {
  @Field(() => ID)
  messageId!: string;

  @Field({ description: 'The service queue it was dead-lettered from.' })
  queue!: string;

  @Field(() => String, { nullable: true })
  reason?: string;

  @Field(() => String, { nullable: true })
  deadLetteredAt?: string;

  @Field(() => Int, { nullable: true })
  receiveCount?: number;

  @Field(() => DeadLetterEvent, { nullable: true, description: 'The event; null for a body that is not an EventBridge event (only SQS holds such).' })
  event?: DeadLetterEvent;
}

@ObjectType()
export class DeadLetterConnection extends Connection(DeadLetterType, 'DeadLetter') {}

@ObjectType('RedriveResult')
export class RedriveResult {
  @Field()
  queue!: string;

  @Field(() => Int, { description: 'Messages moved back to the queue.' })
  moved!: number;
}
