import type { Api } from '../api/client';

/** One integration as a page sees it: the area's client and the integration's `_id`. */
export interface Scope {
  api: Api;
  id: string;
}
