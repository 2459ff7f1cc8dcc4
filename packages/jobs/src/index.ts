export { defineJob, type JobContract, type PayloadOf } from './contract';
export { catalogSyncJob } from './catalog-sync.job';
export { QUEUES, type QueueName, type JobsOf } from './queues';
export { JobProducer, type ProducerOptions, type WaitOutcome } from './producer';
export { startConsumer, type ConsumerOptions, type HandlerMap, type JobHandler, type JobContext } from './consumer';
export { createRedis, type RedisRole } from './redis';
