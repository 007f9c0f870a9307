#!/usr/bin/env node
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { runStandalone } from '@nightshift/platform';
import { IngestionModule } from './app.module.js';
import { loadIngestionConfig } from './config.js';

/** Ingestion as its own process (ECS task, or `npm run start:split`): consumes its SQS queue. */
await runStandalone('ingestion', () => loadIngestionConfig(), async (config, runtime) => {
  const { module, transport } = IngestionModule.compose(config, runtime);
  const app = await NestFactory.createMicroservice(module, { strategy: transport });
  await app.listen();
  return () => app.close();
});
