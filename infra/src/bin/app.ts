#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addNightshiftStacks } from '../app.js';
import { loadInfraConfigFile, parseInfraConfig } from '../config.js';

/**
 * The CDK app: `npm run synth` (cdk synth in infra/). The configuration file is the context value
 * `config` (`-c config=config/prod.json`, relative to infra/); without it, the defaults. cdk-nag's
 * AwsSolutions checks run on every synth: a finding fails it.
 */
const app = new App();
const configFile = app.node.tryGetContext('config') as string | undefined;
const config = configFile ? loadInfraConfigFile(configFile) : parseInfraConfig({}, 'the default configuration');
addNightshiftStacks(app, config);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
