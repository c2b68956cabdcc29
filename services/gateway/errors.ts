/** Turns every failure into the error body of DESIGN.md, with the status its code maps to. */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../../lib/errors.js';

/** Fastify's own error codes, in our vocabulary. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
};

const messages: Partial<Record<ErrorCode, string>> = {
  MALFORMED_JSON: 'The request body is not valid JSON',
  PAYLOAD_TOO_LARGE: 'The request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'This content type is not accepted here',
};

function toAppError(err: FastifyError): AppError {
  if (err instanceof AppError) return err;
  if (err.validation) {
    const details = err.validation.map((issue) => ({
      in: err.validationContext ?? 'body',
      path: issue.instancePath || '/',
      message: issue.message ?? 'is invalid',
      ...(issue.keyword === 'additionalProperties'
        ? { field: (issue.params as { additionalProperty?: string }).additionalProperty }
        : {}),
    }));
    const first = details[0];
    const where = first ? `${first.in}${first.path === '/' ? '' : first.path}` : 'request';
    const what =
      first && 'field' in first ? `has an unknown field "${first.field}"` : (first?.message ?? 'is invalid');
    return new AppError('VALIDATION_FAILED', `The ${where} ${what}`, details);
  }
  const mapped = err.code ? fastifyCodes[err.code] : undefined;
  if (mapped) return new AppError(mapped, messages[mapped] ?? err.message);
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code: ErrorCode = status === 404 ? 'NOT_FOUND' : status === 405 ? 'METHOD_NOT_ALLOWED' : 'VALIDATION_FAILED';
    return new AppError(code, err.message);
  }
  return new AppError('INTERNAL', 'Something went wrong on our side; the request id is in the X-Request-Id header');
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(err);
    if (appError.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: appError.code }, appError.message);
    if (appError.code === 'RATE_LIMITED') {
      const retry = (appError.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      if (retry) reply.header('retry-after', String(retry));
    }
    reply.code(appError.status).type('application/json').send(appError.toBody());
  });
}

export function routeNotFound(request: FastifyRequest, reply: FastifyReply): void {
  const error = new AppError('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`);
  reply.code(error.status).type('application/json').send(error.toBody());
}
