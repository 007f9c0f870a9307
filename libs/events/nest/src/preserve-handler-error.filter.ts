import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

/**
 * Hands a handler's own error to the transport instead of Nest's default replacement (a plain
 * `{ status: 'error', message: 'Internal server error' }` object), so {@link QueueServer} can
 * read its `retryable` flag and record its message in the DLQ. Register it once per microservice:
 * `app.useGlobalFilters(new PreserveHandlerErrorFilter())`. Without it every handler error counts
 * as retryable: a non-retryable one reaches the DLQ only after `maxReceiveCount` deliveries.
 */
@Catch()
export class PreserveHandlerErrorFilter implements RpcExceptionFilter<unknown, never> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
