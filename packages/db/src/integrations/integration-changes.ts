/**
 * Who is told, in this process, that an integration changed: every store that changes an
 * integration announces it here, and in-process caches (the gateway's webhook-auth cache) drop
 * their entry.
 */
export class IntegrationChanges {
  private readonly listeners = new Set<(id: string) => void>();

  /** Calls `listener` with the id after each committed change; returns the unsubscribe function. */
  subscribe(listener: (id: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  announce(id: string): void {
    for (const listener of this.listeners) listener(id);
  }
}
