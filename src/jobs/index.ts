export { JobQueue, defaultLimits, defaultMaxAttempts, type JobQueueOptions } from './job-queue.js';
export { JobWorker, type JobHandler, type JobContext, type JobWorkerOptions } from './job-worker.js';
export { JobDeferred } from './job-deferred.js';
export { willRetry, defaultIsRetryable } from './retry-policy.js';
export { backoffCeilingMs, backoffDelayMs, defaultBackoff } from './backoff.js';
export {
  JobStates,
  type BackoffPolicy,
  type CompleteResult,
  type ConcurrencyLimits,
  type EnqueueRequest,
  type FailResult,
  type HeartbeatResult,
  type Job,
  type JobFilter,
  type JobState,
  type ReleaseResult,
} from './types.js';
