import { errorOf, type Area } from './client';

/** Who is signed in, and the CSRF token their state-changing calls carry (kept in memory only). */
export interface Session {
  partner: { sub: string; role: string };
  csrfToken: string;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

async function sessionOf(response: Response): Promise<Session> {
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw errorOf(response.status, body);
  return body as Session;
}

/** The session the cookie already holds (a reload keeps you signed in), or null when there is none. */
export async function currentSession(area: Area): Promise<Session | null> {
  const response = await fetch(`/${area}/session`, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (response.status !== 401) return sessionOf(response);
  // Read to its end, so the browser counts the call as finished.
  await response.arrayBuffer();
  return null;
}

/** Exchanges the pasted JWT for the area's HttpOnly session cookie; the JWT is not kept. */
export async function signIn(area: Area, token: string): Promise<Session> {
  const response = await fetch(`/${area}/session`, { method: 'POST', headers: JSON_HEADERS, credentials: 'same-origin', body: JSON.stringify({ token }) });
  return sessionOf(response);
}

/** Revokes the session on the server (the cookie stops working at once). */
export async function signOut(area: Area, session: Session): Promise<void> {
  const response = await fetch(`/${area}/session`, { method: 'DELETE', headers: { 'X-CSRF-Token': session.csrfToken }, credentials: 'same-origin' });
  if (!response.ok && response.status !== 401) throw errorOf(response.status, await response.json().catch(() => undefined));
}
