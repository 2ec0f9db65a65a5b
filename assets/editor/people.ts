// Who is in the session, as the server tells it: this tab's own participant (sync.you)
// and everyone's name and colour, kept current by user_joined and user_left. Every id
// here is a public participant id from the server; the browser's own secret id is
// never one of them, so the island learns who it is from sync.you alone.

import type { Person, PresenceMessage, SyncMessage } from "./protocol";

export class People {
  private you: Person | null = null;
  private users = new Map<string, Person>();

  /** This tab's participant id, "" until the first sync. */
  get myId(): string {
    return this.you?.id ?? "";
  }

  /** Whether userId is this tab's participant (their other tabs share it). */
  isMe(userId: string): boolean {
    return this.you !== null && userId === this.you.id;
  }

  get(userId: string): Person | undefined {
    return this.users.get(userId);
  }

  has(userId: string): boolean {
    return this.users.has(userId);
  }

  /** synced takes the server's list: a sync names everyone present, us included. */
  synced(m: SyncMessage): void {
    this.you = m.you ?? null;
    this.users = new Map(m.users.map((p) => [p.id, p]));
  }

  joined(m: PresenceMessage): void {
    this.users.set(m.userId, { id: m.userId, name: m.userName, color: m.color, role: m.role });
  }

  left(userId: string): void {
    this.users.delete(userId);
  }
}
