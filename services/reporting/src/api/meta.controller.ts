import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import { notFound } from './api-problem.js';
import { buildOpenApiDocument } from './openapi.js';

const require = createRequire(import.meta.url);
/** The service's version (its package.json), as the OpenAPI document and the CLI report it. */
export const API_VERSION: string = (require('../../package.json') as { version: string }).version;

/** The reference page's assets: Swagger UI's own build, served from the installed package (no CDN). */
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>nightshift REST API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: false });\n`;

/** The API's description: `/openapi.json` (OpenAPI 3.1) and `/docs`, its rendered reference. Public: they hold no data. */
@Controller()
export class MetaController {
  private readonly document = JSON.stringify(buildOpenApiDocument(API_VERSION));

  @Get('openapi.json')
  @Header('content-type', 'application/json; charset=utf-8')
  openapi(): string {
    return this.document;
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  docs(): string {
    return DOCS_PAGE;
  }

  @Get('docs/init.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  init(): string {
    return INIT_SCRIPT;
  }

  @Get('docs/assets/:name')
  async asset(@Param('name') name: string, @Res({ passthrough: true }) reply: { header(name: string, value: string): unknown }): Promise<Buffer> {
    const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!type) throw notFound(`no asset ${name}`);
    reply.header('content-type', type);
    reply.header('cache-control', 'public, max-age=3600');
    return readFile(join(SWAGGER_UI_DIR, name));
  }
}
