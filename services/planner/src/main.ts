#!/usr/bin/env node
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { runStandalone } from '@nightshift/platform';
import { PlannerModule } from './app.module.js';
import { loadPlannerConfig } from './config.js';
import { ReconciliationLoop } from './reconciliation-loop.js';

/**
 * The planner as its own process (ECS task, or `npm run start:split`): consumes its SQS queue,
 * submits to AWS Batch. One reconciliation sweep before it takes events, then one periodically.
 */
await runStandalone('planner', () => loadPlannerConfig(), async (config, runtime) => {
  const { module, transport } = PlannerModule.compose(config, runtime);
  const app = await NestFactory.createMicroservice(module, { strategy: transport });
  const loop = app.get(ReconciliationLoop);
  await loop.sweepOnce();
  await app.listen();
  loop.start();
  return () => app.close();
});
