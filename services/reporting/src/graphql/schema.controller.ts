import { Controller, Get, Header, Inject } from '@nestjs/common';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { printSchema } from './graphql-js.js';

/**
 * The GraphQL schema as SDL, for client tooling (code generators, editors): the depth limit refuses
 * the standard introspection query, which nests deeper. Public, like `/openapi.json`: it holds no data.
 */
@Controller()
export class GraphQLSchemaController {
  private sdl: string | undefined;

  constructor(@Inject(GraphQLSchemaHost) private readonly schemaHost: GraphQLSchemaHost) {}

  @Get('graphql/schema.graphql')
  @Header('content-type', 'text/plain; charset=utf-8')
  schema(): string {
    this.sdl ??= printSchema(this.schemaHost.schema);
    return this.sdl;
  }
}
