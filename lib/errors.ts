/**
 * The one error type of Vaporform. Every failure a caller can act on carries a stable code; the code alone
 * decides the HTTP status, so services never think in status numbers.
 */

const statusByCode = {
  // 400: the request itself is wrong
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  INVALID_CURSOR: 400,
  INVALID_PATH: 400,
  // 401: who are you?
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_INVALID: 401,
  REFRESH_TOKEN_INVALID: 401,
  REFRESH_TOKEN_REUSED: 401,
  API_KEY_INVALID: 401,
  // 403: known, but not allowed
  FORBIDDEN: 403,
  PATH_OUTSIDE_WORKSPACE: 403,
  // 404: absent, or not yours to know about
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  PROJECT_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  MEMBER_NOT_FOUND: 404,
  API_KEY_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  TERMINAL_NOT_FOUND: 404,
  SECRET_NOT_FOUND: 404,
  // 405, 409, 413, 415, 422, 429
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  EMAIL_TAKEN: 409,
  SLUG_TAKEN: 409,
  ALREADY_MEMBER: 409,
  LAST_OWNER: 409,
  VERSION_MISMATCH: 409,
  ALREADY_EXISTS: 409,
  PROJECT_BUSY: 409,
  // a model change that would lose stored data, generated only when explicitly allowed
  DESTRUCTIVE_CHANGE: 409,
  SECRET_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  RATE_LIMITED: 429,
  // a project's terminals are capped (the sandbox agent's TERMINAL_LIMIT)
  TERMINAL_LIMIT: 429,
  // 5xx: ours, or a component we depend on
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
  UPSTREAM_UNAVAILABLE: 502,
  SERVICE_UNAVAILABLE: 503,
  TIMEOUT: 504,
  // 507: the project's disk (SANDBOX_DISK_MB) is full
  QUOTA_EXCEEDED: 507,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof statusByCode;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get status(): number {
    return statusByCode[this.code];
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message } };
    if (this.details !== undefined) body.error.details = this.details;
    return body;
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(statusByCode, value);
}

export function statusOf(code: ErrorCode): number {
  return statusByCode[code];
}
