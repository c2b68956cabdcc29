/**
 * Retries shared by the providers: which failures are worth another attempt, how long to wait (exponential
 * backoff with jitter, or what `retry-after` says), and a watchdog that abandons a response gone silent. The
 * SDKs' own retries are off, so every retry passes through here and is reported through `onRetry`.
 */
import { ProviderError, type RetryPolicy, type StreamHandlers } from './types.js';

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
  // Long enough for a reasoning model that thinks before its first token.
  stallTimeoutMs: 300_000,
};

/** Heartbeats need a sign of life at least every 2 s; every second leaves room. */
const PROGRESS_INTERVAL_MS = 1_000;

const CONTEXT_OVERFLOW =
  /prompt is too long|context[ _]length|context window|maximum context|exceeds? the (available )?context|exceed context limit|request_too_large/i;

/** `retry-after-ms` (milliseconds) or `retry-after` (seconds, or an HTTP date), as the APIs send them. */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const millis = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(millis) && millis >= 0) return millis;
  const raw = headers?.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number.parseFloat(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** An error the API answered (an HTTP status, or an error event in the middle of a stream: no status). */
export function apiProviderError(
  provider: string,
  failure: { status: number | undefined; type?: string | null; code?: string | null; message: string; headers?: Headers },
  cause: unknown,
): ProviderError {
  const { status, type } = failure;
  const options = { cause, retryAfterMs: retryAfterMs(failure.headers) };
  const message = `${provider} answered ${status ?? 'an error mid-stream'}: ${failure.message}`;
  const described = `${type ?? ''} ${failure.code ?? ''} ${failure.message}`;
  if (status === 413 || ((status === 400 || status === undefined) && CONTEXT_OVERFLOW.test(described))) {
    return new ProviderError('context_overflow', message, false, status, options);
  }
  if (status === 429 || type === 'rate_limit_error') return new ProviderError('rate_limited', message, true, status, options);
  if (status === 529 || type === 'overloaded_error') return new ProviderError('overloaded', message, true, status, options);
  if (status === 401 || status === 403 || type === 'authentication_error' || type === 'permission_error') {
    return new ProviderError('auth', message, false, status, options);
  }
  if (status === 408 || type === 'timeout_error') return new ProviderError('network', message, true, status, options);
  if (status === undefined ? type !== 'invalid_request_error' : status >= 500) {
    return new ProviderError('server', message, true, status, options);
  }
  return new ProviderError('bad_request', message, false, status, options);
}

/** A connection that failed or broke off: undici reports a body cut short as `TypeError: terminated`. */
export function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return (
    err.message === 'terminated' ||
    (typeof code === 'string' && /^(ECONN\w+|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR\w*)$/.test(code))
  );
}

export function networkError(provider: string, err: unknown): ProviderError {
  const reason = err instanceof Error ? err.message : String(err);
  return new ProviderError('network', `${provider} connection failed: ${reason}`, true, undefined, { cause: err });
}

/** Anything else: a stream that could not be parsed may be a glitch worth another try; the rest is not. */
export function unexpectedError(provider: string, err: unknown): ProviderError {
  const message = err instanceof Error ? err.message : String(err);
  const retryable = err instanceof SyntaxError;
  return new ProviderError('server', `${provider} request failed: ${message}`, retryable, undefined, { cause: err });
}

/** A stream that ended before its last event: the answer is incomplete, so the attempt failed. */
export function incompleteStream(provider: string): ProviderError {
  return new ProviderError('network', `${provider} ended the stream before the answer was complete`, true);
}

function aborted(cause?: unknown): ProviderError {
  return new ProviderError('aborted', 'the model request was cancelled', false, undefined, { cause });
}

export function retryDelayMs(policy: RetryPolicy, failedAttempt: number, error: ProviderError): number {
  if (error.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, policy.maxRetryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  // Equal jitter: never less than half the backoff, so parallel runs spread out without hammering at once.
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface Attempt {
  /** Aborted when the caller aborts, or when the watchdog gives up on a silent response. */
  signal: AbortSignal;
  /** Call on every sign of life from the API: it resets the watchdog. */
  touch(): void;
}

async function attemptOnce<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  classify: (err: unknown) => ProviderError,
  run: (attempt: Attempt) => Promise<T>,
): Promise<T> {
  if (signal?.aborted) throw aborted(signal.reason);
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let stalled = false;
  let watchdog: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      stalled = true;
      controller.abort(new Error('stalled'));
    }, policy.stallTimeoutMs);
  };
  touch();
  try {
    return await run({ signal: controller.signal, touch });
  } catch (err) {
    if (signal?.aborted) throw aborted(err);
    if (stalled) {
      const seconds = policy.stallTimeoutMs / 1000;
      throw new ProviderError('network', `the model sent nothing for ${seconds} s`, true, undefined, { cause: err });
    }
    throw err instanceof ProviderError ? err : classify(err);
  } finally {
    clearTimeout(watchdog);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Runs `run` until it succeeds, a failure is not retryable, the attempts are spent, or `signal` aborts. */
export async function withRetries<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  handlers: StreamHandlers,
  classify: (err: unknown) => ProviderError,
  run: (attempt: Attempt) => Promise<T>,
): Promise<{ value: T; attempts: number }> {
  const progress = setInterval(() => handlers.onProgress?.(), PROGRESS_INTERVAL_MS);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return { value: await attemptOnce(policy, signal, classify, run), attempts: attempt };
      } catch (err) {
        if (!(err instanceof ProviderError) || !err.retryable || attempt >= policy.maxAttempts) throw err;
        const delayMs = retryDelayMs(policy, attempt, err);
        handlers.onRetry?.({ attempt: attempt + 1, delayMs, reason: err.message });
        await sleep(delayMs, signal);
      }
    }
  } finally {
    clearInterval(progress);
  }
}
