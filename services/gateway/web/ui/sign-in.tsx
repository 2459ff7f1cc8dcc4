import { useState } from 'preact/hooks';
import type { Area } from '../api/client';
import { signIn, type Session } from '../api/session';
import { ErrorNote, messageOf } from './load';

interface SignInProps {
  area: Area;
  title: string;
  /** Who hands out the token, in the words of the page's reader. */
  tokenHelp: string;
  /** Also called with the token, once signed in (the console opens the queue dashboard's session with it). */
  onSignedIn: (session: Session) => void;
}

/** Paste the JWT once: it is exchanged for the area's HttpOnly cookie and then forgotten. */
export function SignIn({ area, title, tokenHelp, onSignedIn }: SignInProps) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const pasted = token.trim();
      onSignedIn(await signIn(area, pasted));
    } catch (refused) {
      setError(messageOf(refused));
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>{title}</h1>
      <form onSubmit={(event) => void submit(event)}>
        <label for="token">Your token (JWT)</label>
        <p id="token-help" class="hint">
          {tokenHelp} It is exchanged for a session cookie and never stored by this page.
        </p>
        <textarea id="token" name="token" rows={4} required autocomplete="off" spellcheck={false} aria-describedby="token-help" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        {error && <ErrorNote message={error} />}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
