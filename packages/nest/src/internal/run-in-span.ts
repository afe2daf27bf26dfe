import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, toRecordableException } from '@tracewire/core';
import { isObservable, Observable } from 'rxjs';

/** A bounded `error.type` for an INTERNAL span: the class name of an Error, else `_OTHER`. */
function errorType(error: unknown): string {
  try {
    if (error instanceof Error) {
      const name = error.constructor?.name;
      if (typeof name === 'string' && /^[A-Za-z_$][\w$]{0,63}$/.test(name)) return name;
    }
  } catch {
    // fall through
  }
  return '_OTHER';
}

function fail(span: Span, error: unknown): void {
  try {
    span.recordException(toRecordableException(error));
    span.setAttribute(ATTR_ERROR_TYPE, errorType(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
  } catch {
    // telemetry is expendable
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `fn` inside a new INTERNAL child span of the active context. The span ends when the
 * result settles: at once for a plain value or a throw, when a promise settles, and when an
 * Observable completes, errors or is unsubscribed (an Observable never subscribed leaves the span
 * unended: it is never exported and is garbage-collected). Errors are recorded and rethrown
 * unchanged. Nothing here throws on its own: if the span cannot be started, `fn` runs as is.
 */
export function runInSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Attributes,
  fn: (this: unknown, ...args: unknown[]) => T,
  self: unknown,
  args: unknown[],
): T {
  let span: Span;
  let ctx: Context;
  try {
    const parent = context.active();
    span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent);
    ctx = trace.setSpan(parent, span);
  } catch {
    return fn.apply(self, args);
  }
  let ended = false;
  const end = (error?: { value: unknown }): void => {
    if (ended) return;
    ended = true;
    if (error !== undefined) fail(span, error.value);
    try {
      span.end();
    } catch {
      // expendable
    }
  };

  let result: T;
  try {
    result = context.with(ctx, () => fn.apply(self, args));
  } catch (error) {
    end({ value: error });
    throw error;
  }

  if (isObservable(result)) {
    const source = result as Observable<unknown>;
    return new Observable<unknown>((subscriber) => {
      const subscription = context.with(ctx, () =>
        source.subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => {
            end({ value: error });
            subscriber.error(error);
          },
          complete: () => {
            end();
            subscriber.complete();
          },
        }),
      );
      return () => {
        subscription.unsubscribe();
        end();
      };
    }) as T;
  }
  if (isPromiseLike(result)) {
    return result.then(
      (value) => {
        end();
        return value;
      },
      (error: unknown) => {
        end({ value: error });
        throw error;
      },
    ) as T;
  }
  end();
  return result;
}
