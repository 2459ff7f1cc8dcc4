import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from '@octo-sync/db';
import { QUEUES, type JobProducer, type QueueName } from '@octo-sync/jobs';
import { principalOf } from './auth';
import { ApiError } from './errors';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

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

/** Runs one allowed action on a job, answering 409 when its state does not allow it. */
async function perform(job: Job, action: JobAction): Promise<void> {
  const state = await job.getState();
  const conflict = (why: string) => new ApiError('JOB_STATE_CONFLICT', [`job: ${why} (it is ${state})`]);
  if (action === 'retry') {
    if (state !== 'failed' && state !== 'completed') throw conflict('only a failed or completed job can be retried');
    await job.retry(state);
  } else if (action === 'promote') {
    if (state !== 'delayed') throw conflict('only a delayed job can be promoted');
    await job.promote();
  } else {
    if (state === 'active') throw conflict('a job being processed cannot be removed');
    await job.remove();
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
 * Performs the action, then records it in the audit trail of the job's integration (read before
 * the action: removing a job deletes its payload); answers 204 once the record is written.
 */
async function runJobAction(deps: { db: Db; producer: JobProducer }, req: Request, res: Response, match: RegExpExecArray): Promise<void> {
  const [, queue = '', jobId = '', verb] = match;
  const action: JobAction = verb === 'clean' ? 'remove' : (verb as JobAction);
  const actor = principalOf(req).sub;
  const job = await jobOf(deps.producer, queue, jobId);
  const integrationId = (job.data as { integrationId?: unknown }).integrationId;
  await perform(job, action);
  const details = { queue, job_id: job.id ?? jobId, job: job.name, action };
  req.log.info({ actor, integrationId, ...details }, 'dashboard action');
  // Jobs of no integration (the nightly fan-out, pruning) have no trail: the log line is their record.
  if (typeof integrationId === 'string') {
    try {
      await deps.db.events.record(integrationId, { type: 'dashboard_job_action', actor, details });
    } catch (err) {
      req.log.error({ err, integrationId, ...details }, 'dashboard action performed but not recorded');
      throw new ApiError('INTERNAL', [`audit: the ${action} was performed but could not be recorded in the integration's events; it has been logged`], { cause: err });
    }
  }
  res.status(204).end();
}

/**
 * The dashboard's state-changing calls: retry, remove and promote of one job are performed here
 * and recorded before they are answered; every other one (obliterate, empty, clean, pause, resume,
 * add, edit...) is refused with 403 naming it. Reads pass through to Bull Board.
 */
export function dashboardActions(deps: { db: Db; producer: JobProducer }): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const match = req.method === 'PUT' ? JOB_ACTION.exec(req.path) : null;
    if (match === null) {
      const action = refusedAction(req.method, req.path);
      req.log.info({ actor: principalOf(req).sub, method: req.method, action }, 'dashboard action refused');
      throw new ApiError('FORBIDDEN', [`action: ${action} is not offered by the queue dashboard (only retry, remove and promote of one job)`]);
    }
    await runJobAction(deps, req, res, match);
  };
}
