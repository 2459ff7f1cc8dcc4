// The first import of main.ts, and its only purpose: tracing starts before express, pg, ioredis
// and undici are first loaded (their instrumentations hook `require`; the bundle evaluates
// imports in order, so everything main.ts imports after this file loads after it). Off unless an
// OTLP endpoint is configured (README, "Traces").
import { startTracingFromEnv } from '@octo-sync/telemetry';

/** This process's tracing: BullMQ's adapter for its queues while on, and the flush its shutdown ends with. */
export const tracing = startTracingFromEnv('octo-sync-worker', process.env);
