export { SyncRequests, type RequestedRun, type SyncRequestOptions } from './sync-requests';
