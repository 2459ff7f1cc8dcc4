export { defineJob, requestIdOf, type JobContract, type PayloadOf } from './contract';
export { catalogSyncJob, catalogSyncJobId } from './catalog-sync.job';
export { readSyncProgress, syncProgressSchema, type SyncProgress } from './sync-progress';
export {
  availabilityApplyJob,
  slotChangeSchema,
  SLOT_STATUSES,
  type SlotChange,
  type SlotResult,
} from './availability-apply.job';
export { latestUpdatedAt, slotTimeBounds, startWithin, updatedAtWithin, UPDATED_AT_AHEAD_MS, type SlotTimeBounds } from './slot-times';
export { testConnectionJob, testConnectionResultSchema, type TestConnectionResult } from './test-connection.job';
export { catalogNightlyJob } from './catalog-nightly.job';
export { alertDeliverJob } from './alert-deliver.job';
export { changesPruneJob } from './changes-prune.job';
export { historyPruneJob } from './history-prune.job';
export { availabilityPartitionsJob } from './availability-partitions.job';
export { availabilityPullJob, availabilityPullJobId, availabilityTickJob } from './availability-pull.job';
export { healthFanoutJob, healthProbeJob } from './health-probe.job';
export { queueOverview, type QueueOverview, type QueueCounts, type FailedJobSummary } from './overview';
export { announceWorker, withdrawWorker, listWorkers, workerKeys, workerPresenceSchema, type WorkerPresence } from './workers';
export { QUEUES, type QueueName, type JobsOf } from './queues';
export { JobProducer, type ProducerOptions, type WaitOutcome } from './producer';
export { startConsumer, type ConsumerOptions, type HandlerMap, type JobHandler, type JobContext } from './consumer';
export { createRedis, redisProblems, serversOf, type Redis, type RedisRole, type RedisConnection, type RedisTarget } from './redis';
export { queueKeyPrefix, shardedKey } from './keyspace';
export { LuaScript } from './lua-script';
export { ReceiveTagLease, ReceiveTagUnavailableError, RECEIVE_TAGS } from './receive-tags';
export { RedisReachability, closeRedis } from './redis-reachability';
export { SupplierBudget, type BudgetSettings } from './supplier-budget';
