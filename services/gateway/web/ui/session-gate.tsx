import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Area } from '../api/client';
import { currentSession, signOut, type Session } from '../api/session';
import { ErrorNote, messageOf } from './load';
import { SignIn } from './sign-in';

interface GateProps {
  area: Area;
  title: string;
  tokenHelp: string;
  children: (session: Session, leave: () => void) => ComponentChildren;
}

/**
 * Resumes the cookie's session if there is one, else asks for a token; sign-out revokes it (the
 * console's session is also the queue dashboard's: the server sets and clears both cookies).
 */
export function SessionGate({ area, title, tokenHelp, children }: GateProps) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<string>();
  useEffect(() => {
    currentSession(area).then(setSession, (refused: unknown) => {
      setError(messageOf(refused));
      setSession(null);
    });
  }, [area]);
  if (session === undefined) return <p role="status">Loading…</p>;
  if (session === null) {
    return (
      <>
        {error && <ErrorNote message={error} />}
        <SignIn area={area} title={title} tokenHelp={tokenHelp} onSignedIn={setSession} />
      </>
    );
  }
  const leave = () => {
    signOut(area, session).then(
      () => {
        location.hash = '';
        setSession(null);
      },
      (refused: unknown) => setError(messageOf(refused)),
    );
  };
  return (
    <>
      {error && <ErrorNote message={error} />}
      {children(session, leave)}
    </>
  );
}
