// The wire protocol of /ws/{sessionId}, as the editor island speaks it.
// Mirrors collab/protocol.go: every message is one JSON object with a "type".

/** A participant as the server describes them. */
export interface Person {
  id: string;
  name: string;
  color: string;
  role?: Role;
}

/** What a participant is in the session; fixed for a connection's life. */
export type Role = "interviewer" | "candidate";

/** One accepted update; changes is ChangeSet.toJSON() of @codemirror/state. */
export interface WireUpdate {
  clientID: string;
  changes: unknown;
  userId?: string;
}

export interface WireRange {
  anchor: number;
  head: number;
}

export interface SyncMessage {
  type: "sync";
  version: number;
  content: string;
  language: string;
  you: Person;
  users: Person[];
}

/**
 * Updates accepted from version on; none: the answer to a pull or to a resend. more:
 * the answer to a pull stops short of the server's version (it is sent a budget of
 * bytes at a time); pull again for the rest.
 */
export interface UpdateMessage {
  type: "update";
  version: number;
  updates: WireUpdate[];
  more?: boolean;
}

export interface PresenceMessage {
  type: "user_joined" | "user_left";
  userId: string;
  userName: string;
  color: string;
  role?: Role;
}

/** Someone's selection, positions in the document at version. */
export interface CursorMessage {
  type: "cursor";
  userId: string;
  version: number;
  ranges: WireRange[];
}

export interface LanguageMessage {
  type: "language";
  language: string;
  userId: string;
}

export interface ErrorMessage {
  type: "error";
  code: string;
  message: string;
}

/** A run event of the runner island, relayed untouched. */
export interface RunMessage {
  type: "run";
  userId: string;
  [field: string]: unknown;
}

export type ServerMessage =
  | SyncMessage
  | UpdateMessage
  | PresenceMessage
  | CursorMessage
  | LanguageMessage
  | ErrorMessage
  | RunMessage;

/** Close codes the island acts on (the server's, in collab/protocol.go). */
export const Close = {
  goingAway: 1001, // the server shuts down: reconnect
  policy: 1008, // rate_limited, too_slow, and the refusals below (reason = code)
  tooBig: 1009, // a frame over the message limit
  sessionDeleted: 4410, // the session was deleted, or the interview ended: stop for good
} as const;

/** Error codes of the "error" message that concern the island. */
export const Code = {
  invalidChanges: "invalid_changes",
  versionAhead: "version_ahead",
  versionTooOld: "version_too_old",
  docTooLarge: "doc_too_large",
  quotaExceeded: "quota_exceeded",
  sessionFull: "session_full",
  tooManyConnections: "too_many_connections",
  tooManyJoins: "too_many_joins",
  sessionDeleted: "session_deleted",
  sessionEnded: "session_ended",
} as const;

/** The codes of a connection refused for now: the island says so and tries again later. */
export type Refusal = typeof Code.sessionFull | typeof Code.tooManyConnections | typeof Code.tooManyJoins;

export function isRefusal(code: string): code is Refusal {
  return code === Code.sessionFull || code === Code.tooManyConnections || code === Code.tooManyJoins;
}

/** The server's default document limit in UTF-16 units (1 MiB). */
export const defaultMaxDocLength = 1 << 20;

/** Keeps an edit message comfortably under the default 2 MiB frame limit. */
export const maxPushBytes = 1 << 20;

/** Parses a frame; anything that is not an object with a string type is dropped. */
export function parseMessage(data: unknown): ServerMessage | null {
  if (typeof data !== "string") return null;
  try {
    const m = JSON.parse(data);
    return m && typeof m === "object" && typeof m.type === "string" ? (m as ServerMessage) : null;
  } catch {
    return null;
  }
}
