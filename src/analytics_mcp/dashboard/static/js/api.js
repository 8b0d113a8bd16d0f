// JSON reads of the /api/v1 routes with the session cookie (the same routes and numbers as any
// API client). 429 waits for Retry-After and tries again (the session has a limit of its own,
// ten times an API token's, so a person clicking around does not meet it); 401 means the session
// ended; a request that never reached the server says so in words (not "Failed to fetch").
import {sleep} from './dom.js';

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

const MAX_RETRIES = 2;

export const NETWORK_ERROR = 'the server could not be reached (network error). Check your connection, then retry.';

async function reach(url, signal) {
  try {
    return await fetch(url, {headers: {Accept: 'application/json'}, signal});
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(NETWORK_ERROR, 0);
  }
}

/** `base`: where the routes are read from; '' signed in, the link's own path on a share link
 * (/share/<secret>/api/v1/...: the same routes, pinned to the link's site). */
export function createApi({onNotice, base = ''}) {
  /** `raw`: the route answers without the {"data": ...} envelope (/api/v1/metrics/*). */
  async function get(path, params, signal, {raw = false} = {}) {
    const url = base + (params ? `${path}?${params}` : path);
    for (let attempt = 0; ; attempt++) {
      const response = await reach(url, signal);
      if (response.status === 401 && base) {  // a share link's password is asked again by its page
        location.reload();
        throw new ApiError('This shared dashboard needs its password again.', 401);
      }
      if (response.status === 401) {
        const next = encodeURIComponent(location.pathname + location.search);
        location.assign(`/login?next=${next}`);
        throw new ApiError('Your session has ended. Please sign in again.', 401);
      }
      if (response.status === 429 && attempt < MAX_RETRIES) {
        const wait = Math.min(Number(response.headers.get('Retry-After')) || 5, 60);
        onNotice(`Too many requests: retrying in ${wait} s…`, 'info');
        await sleep(wait * 1000, signal);
        continue;
      }
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        throw new ApiError(body?.message ?? `Request failed (HTTP ${response.status})`, response.status);
      }
      if (body == null) throw new ApiError(`The server sent an unreadable answer (HTTP ${response.status})`, response.status);
      return raw ? body : body.data;
    }
  }
  return {get, base};
}
