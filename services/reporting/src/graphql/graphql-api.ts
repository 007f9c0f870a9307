import type { DynamicModule, Provider, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import type { BearerAuthenticator } from '../auth/bearer-authenticator.js';
import { AUTHENTICATOR } from '../tokens.js';
import { graphqlOptions } from './graphql-options.js';
import { DatasetsResolver, LandingFieldsResolver } from './resolvers/datasets.resolver.js';
import { OperationsResolver } from './resolvers/operations.resolver.js';
import { PipelinesResolver } from './resolvers/pipelines.resolver.js';
import { ExecutionSectionResolver, ReportsResolver, TcaSectionResolver } from './resolvers/reports.resolver.js';
import { RunProgressResolver } from './resolvers/run-progress.resolver.js';
import { RunsResolver } from './resolvers/runs.resolver.js';
import { StatsResolver } from './resolvers/stats.resolver.js';
import { AttemptFieldsResolver, StepFieldsResolver, TaskFieldsResolver } from './resolvers/steps.resolver.js';
import { RunProgressWatcher } from './run-progress.js';
import { GraphQLSchemaController } from './schema.controller.js';

/**
 * GraphQL for reporting's module (see README.md here): the GraphQL module to import, and the
 * resolvers and controller to add to the module that provides PlatformApi and AUTHENTICATOR (the
 * REST API's: GraphQL answers what REST answers, to the same tokens).
 */
export interface GraphQLApi {
  module: DynamicModule;
  providers: Provider[];
  controllers: Array<Type<unknown>>;
}

export function graphqlApi(): GraphQLApi {
  return {
    module: GraphQLModule.forRootAsync<MercuriusDriverConfig>({
      driver: MercuriusDriver,
      // The authenticator is the importing module's provider: looked up when the first request comes (it is ready by then).
      inject: [ModuleRef],
      useFactory: (moduleRef: ModuleRef) => {
        let authenticator: BearerAuthenticator | undefined;
        return graphqlOptions(() => (authenticator ??= moduleRef.get<BearerAuthenticator>(AUTHENTICATOR, { strict: false })));
      },
    }),
    providers: [
      RunProgressWatcher,
      RunsResolver,
      StepFieldsResolver,
      TaskFieldsResolver,
      AttemptFieldsResolver,
      ReportsResolver,
      TcaSectionResolver,
      ExecutionSectionResolver,
      DatasetsResolver,
      LandingFieldsResolver,
      PipelinesResolver,
      OperationsResolver,
      StatsResolver,
      RunProgressResolver,
    ],
    controllers: [GraphQLSchemaController],
  };
}
