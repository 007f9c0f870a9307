#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { InvalidPipelineFilesError } from '@nightshift/jobs-domain';
import { addNightshiftStacks } from '../app.js';
import { InfraConfigError, loadInfraConfig } from '../config.js';
import { deployedPipelines } from '../pipelines.js';

/**
 * The CDK app: `npm run synth` (cdk synth in infra/). The configuration file is the context value
 * `config` (`-c config=config/prod.json`, relative to infra/); without it, the defaults. The
 * pipelines are the built-in ones plus, with the context value `pipelinesDir` (or
 * `NIGHTSHIFT_PIPELINES_DIR`), that directory's files: a bad file fails the synth, each problem
 * with its file and line. cdk-nag's AwsSolutions checks run on every synth: a finding fails it.
 */
const app = new App();
try {
  const config = loadInfraConfig({ context: (key) => app.node.tryGetContext(key) });
  addNightshiftStacks(app, config, { pipelines: deployedPipelines(config) });
} catch (e) {
  // A bad configuration or pipeline file is what to fix, as the services print theirs at boot: no stack trace.
  if (!(e instanceof InfraConfigError || e instanceof InvalidPipelineFilesError)) throw e;
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
