import express, { type RequestHandler } from 'express';
import { ApiError } from './errors';
import { noteInexactNumbers } from './exact-numbers';
import type { AuthSteps } from './route';

const NO_BYTES = Buffer.alloc(0);

/** A body that is JSON in the sense of the JSON routes (an object or array at the top), else 400; its inexact numbers are noted for `req`. */
function parseJsonBytes(req: object, bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  try {
    if (/^[\s]*[{[]/.test(text)) {
      const parsed = JSON.parse(text) as unknown;
      noteInexactNumbers(req, text);
      return parsed;
    }
  } catch (cause) {
    throw new ApiError('VALIDATION_FAILED', ['body: is not valid JSON (a JSON object is expected)'], { cause });
  }
  throw new ApiError('VALIDATION_FAILED', ['body: is not valid JSON (a JSON object is expected)']);
}

/**
 * Signed webhook deliveries: reads the exact bytes (the signature covers them), checks the
 * signature before anything parses them, then parses JSON for routes that take a body. Unsigned
 * calls pass through to the usual parser untouched.
 */
export function signedBody(limit: number, json: boolean, verify: AuthSteps['webhookSignature']): RequestHandler {
  const raw = express.raw({ limit, type: () => true });
  return async (req, res, next) => {
    if (res.locals.signedDelivery === undefined) {
      next();
      return;
    }
    // body-parser's own errors (413, aborted) go on to the error middleware as they are.
    const failure = await new Promise<unknown>((resolve) => raw(req, res, resolve));
    if (failure !== undefined) {
      next(failure);
      return;
    }
    const bytes = Buffer.isBuffer(req.body) ? req.body : NO_BYTES;
    await verify(req, res, bytes);
    req.body = json && bytes.length > 0 ? parseJsonBytes(req, bytes) : undefined;
    next();
  };
}

