import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** One entry of a page's navigation: `#/<path>`. */
export interface NavItem {
  path: string;
  label: string;
}

/** The current `#/<path>` route (first segment and the rest), following the address bar. */
export function useRoute(fallback: string): string[] {
  const read = () => {
    const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    return parts.length > 0 ? parts : [fallback];
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const follow = () => setRoute(read());
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  return route;
}

/** The skip link focuses the content without touching the `#/` route. */
function skipToMain(event: Event) {
  event.preventDefault();
  document.getElementById('main')?.focus();
}

interface ShellProps {
  title: string;
  who: string;
  nav: NavItem[];
  current: string;
  onSignOut: () => void;
  children: ComponentChildren;
}

/** Header (title, who is signed in, sign-out), navigation, and the main landmark. */
export function Shell({ title, who, nav, current, onSignOut, children }: ShellProps) {
  // A new section moves focus to it, so a keyboard or screen-reader user starts there (as a page load would).
  const hash = location.hash;
  useEffect(() => {
    document.getElementById('main')?.focus();
  }, [hash]);
  return (
    <>
      <a class="skip" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header class="top">
        <p class="brand">{title}</p>
        <p class="who">
          Signed in as <strong>{who}</strong>
        </p>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Sections">
        <ul>
          {nav.map((item) => (
            <li key={item.path}>
              <a href={`#/${item.path}`} aria-current={item.path === current ? 'page' : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
