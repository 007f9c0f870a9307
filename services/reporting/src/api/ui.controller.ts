import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import { ApiProblemError, notFound } from './api-problem.js';

/**
 * Where `npm run build` puts the dashboard (scripts/build-ui.mjs): `dist/ui` of this service,
 * reached the same way from `src/api` (tests run the sources) and `dist/api` (the build).
 */
export const UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** A built file's name: the bundler's `<name>-<hash>.<ext>`, never a path. */
const ASSET_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)+$/;

interface HeaderReply {
  header(name: string, value: string): unknown;
}

/**
 * The dashboard (services/reporting/ui): its page at `/ui` and its bundle under `/ui/assets/`.
 * Public like `/docs`: the files hold no data; the page asks for an API key and calls the REST API
 * with it. Everything is served from this service's build, nothing from a CDN.
 */
@Controller('ui')
export class UiController {
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  // The page names the hashed bundle of the current build: revalidate it every time.
  @Header('cache-control', 'no-cache')
  async page(): Promise<Buffer> {
    try {
      return await readFile(`${UI_DIR}index.html`);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
      throw new ApiProblemError(503, `the dashboard is not built: run \`npm run build\` (scripts/build-ui.mjs writes ${UI_DIR})`);
    }
  }

  @Get('assets/:name')
  async asset(@Param('name') name: string, @Res({ passthrough: true }) reply: HeaderReply): Promise<Buffer> {
    const type = TYPES[extname(name)];
    if (!type || !ASSET_NAME.test(name)) throw notFound(`no dashboard asset ${name}`);
    let body: Buffer;
    try {
      body = await readFile(`${UI_DIR}assets/${name}`);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
      throw notFound(`no dashboard asset ${name} (an older build's? reload /ui)`);
    }
    reply.header('content-type', type);
    // Names carry their content's hash: a new build has new names.
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    return body;
  }
}
