import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@octo-sync/platform';

/** A logger (level info) whose JSON lines a test reads back from `lines`. */
export function capturingLogger(name: string): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ name, level: 'info', destination }), lines };
}

/** The frames of an error's stack trace (`    at fn (file:line:col)`): none for an expected refusal. */
export const stackFrames = (error: Error): string[] => (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
