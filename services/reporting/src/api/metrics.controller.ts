import { Controller, ForbiddenException, Get, Header, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from '@nightshift/observability';
import { BearerAuthGuard, Caller, RequireRole } from '../auth/auth.guard.js';
import type { Principal } from '../auth/principal.js';

/**
 * `GET /metrics`: the process's OpenTelemetry metrics in the Prometheus text format, on the API's
 * port. Behind the API's bearer authentication like every data route (no mode serves the API
 * unauthenticated), for a platform admin only: the metrics span every tenant. Prometheus sends the
 * token with `authorization: { credentials_file: ... }` in its scrape config. Not in the OpenAPI
 * document: it is for scrapers, not API clients.
 */
@Controller()
@UseGuards(BearerAuthGuard)
export class MetricsController {
  @Get('metrics')
  @RequireRole('admin')
  @Header('content-type', PROMETHEUS_CONTENT_TYPE)
  @Header('cache-control', 'no-store')
  async metrics(@Caller() caller: Principal): Promise<string> {
    if (caller.tenant !== undefined) throw new ForbiddenException(`metrics cover every tenant: this needs a platform admin token, not one of tenant ${caller.tenant}`);
    const text = await prometheusText();
    if (text === undefined) throw new ServiceUnavailableException('metrics are not started in this process');
    return text;
  }
}
