#!/usr/bin/env node
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { runStandalone } from '@nightshift/platform';
import { ReportingModule } from './app.module.js';
import { reportingHttpAdapter } from './api/http-adapter.js';
import { loadReportingConfig } from './config.js';

/** Reporting as its own process (ECS task behind the load balancer, or `npm run start:split`): REST API + its SQS queue. */
await runStandalone('reporting', () => loadReportingConfig(), async (config, runtime) => {
  const { module, transport } = ReportingModule.compose(config, runtime);
  const app = await NestFactory.create(module, reportingHttpAdapter(config));
  app.connectMicroservice({ strategy: transport });
  await app.startAllMicroservices();
  await app.listen(config.httpPort, config.httpHost);
  process.stdout.write(`reporting API ${(await app.getUrl()).replace('[::1]', '127.0.0.1')}\n`);
  return () => app.close();
});
