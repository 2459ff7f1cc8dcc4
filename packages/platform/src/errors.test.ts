import { AppError } from './errors';

/** The frames of a stack trace (`    at fn (file:line:col)`), without its first line. */
const frames = (error: Error) => (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));

class Refusal extends AppError {
  constructor() {
    super('REFUSED', 'no', { expected: true, details: ['field: no'] });
  }
}

describe('AppError', () => {
  test('a fault keeps its stack trace: it is logged, and the frames say where it came from', () => {
    const fault = new AppError('BROKEN', 'it broke', { cause: new Error('below') });
    expect(frames(fault).length).toBeGreaterThan(0);
    expect(fault).toMatchObject({ name: 'AppError', code: 'BROKEN', message: 'it broke', details: [] });
    expect((fault.cause as Error).message).toBe('below');
  });

  test('an expected refusal captures no frame, whatever class builds it, and leaves the stack limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const refusal = new AppError('NOT_ALLOWED', 'not now', { expected: true });
    expect(frames(refusal)).toEqual([]);
    expect(frames(new Refusal())).toEqual([]);
    expect(new Refusal()).toMatchObject({ name: 'Refusal', code: 'REFUSED', message: 'no', details: ['field: no'] });
    expect(Error.stackTraceLimit).toBe(limit);
    // Errors built after one still get their frames.
    expect(frames(new Error('later')).length).toBeGreaterThan(0);
  });
});
