import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from '@octo-sync/db';
import { QUEUES, type JobProducer, type QueueName } from '@octo-sync/jobs';
import { principalOf } from './auth';
import { ApiError } from './errors';
import { isSafeMethod } from './pages/browser-requests';

/** The job actions the dashboard allows: Bull Board's retry, remove (its `clean`) and promote of one job. */
const JOB_ACTION = /^\/api\/queues\/([^/]+)\/([^/]+)\/(retry|clean|promote)$/;
type JobAction = 'retry' | 'remove' | 'promote';

/**
 * Bull Board's other state-changing calls, named for the 403 (tried in order; the job actions
 * above are matched first). Anything not listed is refused too, named by method and path.
 */
const REFUSED: ReadonlyArray<readonly [RegExp, string]> = [
  [/^\/api\/queues\/[^/]+\/obliterate$/, 'obliterate'],
  [/^\/api\/queues\/[^/]+\/empty$/, 'empty'],
  [/^\/api\/queues\/[^/]+\/clean\/[^/]+$/, 'clean (remove every job in a state)'],
  [/^\/api\/queues\/(?:[^/]+\/)?pause$/, 'pause'],
  [/^\/api\/queues\/(?:[^/]+\/)?resume$/, 'resume'],
  [/^\/api\/queues\/[^/]+\/add$/, 'add'],
  [/^\/api\/queues\/[^/]+\/retry\/[^/]+$/, 'retry every job in a state'],
  [/^\/api\/queues\/[^/]+\/promote$/, 'promote every delayed job'],
  [/^\/api\/queues\/[^/]+\/[^/]+\/(?:update-data|delay|priority)$/, 'edit'],
];

/** The name of a refused dashboard call, as the 403 and the log line say it. */
function refusedAction(method: string, path: string): string {
  return REFUSED.find(([pattern]) => pattern.test(path))?.[1] ?? `${method} ${path}`;
}

type Job = NonNullable<Awaited<ReturnType<ReturnType<JobProducer['queue']>['getJob']>>>;

/** Why each action may not apply, as the 409 says it. */
const NOT_ALLOWED: Record<JobAction, string> = {
  retry: 'only a failed or completed job can be retried',
  promote: 'only a delayed job can be promoted',
  remove: 'a job being processed cannot be removed',
};

/**
 * The state a retry or a promote needs, checked before the action is recorded: 409 when it plainly
 * does not apply. (A job may still change state before the action runs: {@link perform} answers
 * that.) A remove reads nothing: BullMQ refuses a locked (active) job in the same script.
 */
async function checkState(job: Job, action: JobAction): Promise<string | undefined> {
  if (action === 'remove') return undefined;
  const state = await job.getState();
  const allowed = action === 'retry' ? state === 'failed' || state === 'completed' : state === 'delayed';
  if (!allowed) throw new ApiError('JOB_STATE_CONFLICT', [`job: ${NOT_ALLOWED[action]} (it is ${state})`]);
  return state;
}

/** BullMQ's script codes for a job that is not where the action expected it (locked, moved, gone). */
const STATE_CODES = new Set([-1, -2, -3, -4, -6]);

/** Whether `err` is BullMQ refusing an action because the job changed state under it. */
function isStateRefusal(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  // `remove` refuses a locked (active) job with a plain Error, no code.
  return (typeof code === 'number' && STATE_CODES.has(code)) || /could not be removed because it is locked/.test(err.message);
}

/** Runs one allowed action on a job; 409 when BullMQ refuses it because the job's state changed meanwhile. */
async function perform(job: Job, action: JobAction, state: string | undefined): Promise<void> {
  try {
    if (action === 'retry') await job.retry(state === 'completed' ? 'completed' : 'failed');
    else if (action === 'promote') await job.promote();
    else await job.remove();
  } catch (err) {
    if (!isStateRefusal(err)) throw err;
    const now = await job.getState();
    throw new ApiError('JOB_STATE_CONFLICT', [`job: ${NOT_ALLOWED[action]} (it is ${now})`], { cause: err });
  }
}

/** Reads the job an action names; 404 when its queue or the job does not exist. */
async function jobOf(producer: JobProducer, queue: string, rawId: string): Promise<Job> {
  let jobId: string;
  try {
    jobId = decodeURIComponent(rawId);
  } catch (err) {
    throw new ApiError('VALIDATION_FAILED', ['path: the job id is not valid percent-encoding'], { cause: err });
  }
  const job = Object.hasOwn(QUEUES, queue) ? await producer.queue(queue as QueueName).getJob(jobId) : undefined;
  if (job === undefined || job === null) throw new ApiError('NOT_FOUND', [`job: no job ${jobId} in queue ${queue}`]);
  return job;
}

/**
 * Records the action in the audit trail of the job's integration (read first: removing a job
 * deletes its payload), then performs it; answers 204 once it is done. The entry says what was
 * asked: if performing then fails (409 when the job changed state in between), the entry stands
 * for an action that was not performed, and the log says so. An entry that cannot be written
 * stops the action (500, nothing done).
 */
async function runJobAction(deps: { db: Db; producer: JobProducer }, req: Request, res: Response, match: RegExpExecArray): Promise<void> {
  const [, queue = '', jobId = '', verb] = match;
  const action: JobAction = verb === 'clean' ? 'remove' : (verb as JobAction);
  const actor = principalOf(req).sub;
  const job = await jobOf(deps.producer, queue, jobId);
  const integrationId = (job.data as { integrationId?: unknown }).integrationId;
  const state = await checkState(job, action);
  const details = { queue, job_id: job.id ?? jobId, job: job.name, action };
  // Jobs of no integration (the nightly fan-out, pruning) have no trail: the log lines are their record.
  if (typeof integrationId === 'string') {
    try {
      await deps.db.events.record(integrationId, { type: 'dashboard_job_action', actor, details });
    } catch (err) {
      req.log.error({ err, integrationId, ...details }, 'dashboard action not recorded, so not performed');
      throw new ApiError('INTERNAL', [`audit: the ${action} could not be recorded in the integration's events, so it was not performed`], { cause: err });
    }
  }
  try {
    await perform(job, action, state);
  } catch (err) {
    req.log.warn({ err, actor, integrationId, ...details }, 'dashboard action recorded but not performed');
    throw err;
  }
  req.log.info({ actor, integrationId, ...details }, 'dashboard action');
  res.status(204).end();
}

/**
 * The dashboard's state-changing calls: retry, remove and promote of one job are performed here
 * and recorded before they are answered; every other one (obliterate, empty, clean, pause, resume,
 * add, edit...) is refused with 403 naming it. Reads pass through to Bull Board.
 */
export function dashboardActions(deps: { db: Db; producer: JobProducer }): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (isSafeMethod(req)) return next();
    const match = req.method === 'PUT' ? JOB_ACTION.exec(req.path) : null;
    if (match === null) {
      const action = refusedAction(req.method, req.path);
      req.log.info({ actor: principalOf(req).sub, method: req.method, action }, 'dashboard action refused');
      throw new ApiError('FORBIDDEN', [`action: ${action} is not offered by the queue dashboard (only retry, remove and promote of one job)`]);
    }
    await runJobAction(deps, req, res, match);
  };
}
