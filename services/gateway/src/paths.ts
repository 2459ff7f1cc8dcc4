/** Where the partner API lives. */
export const BASE_PATH = '/api/v1/partner-integrations';
export const OPENAPI_PATH = '/api/v1/openapi.json';
