export { SyncRequests, type RequestedRun, type SyncRequestOptions } from './sync-requests';
export { PullRequests, type PullScope, type RequestedPull } from './pull-requests';
