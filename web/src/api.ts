// One way to talk to the server: typed GraphQL documents over fetch, subscriptions over
// graphql-ws, errors turned into words from `extensions.code`.
import { print } from "graphql";
import { reactive } from "vue";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { createClient, type Client } from "graphql-ws";
import { session, signOut } from "./session";

/** One wrong input of a form, as the server names it (`commissionConfig.baseRate`). */
export interface Problem {
  field: string;
  message: string;
}

export interface GqlErrorShape {
  message: string;
  extensions?: { code?: string; field?: string; errors?: Problem[] };
}

/** A failed request: the server's code, its message, the offending field and every wrong input. */
export class ApiError extends Error {
  code: string;
  field?: string;
  problems: Problem[];
  constructor(code: string, message: string, field?: string, problems?: Problem[]) {
    super(message);
    this.code = code;
    this.field = field;
    this.problems = problems ?? (field ? [{ field, message }] : []);
  }
  /** A sentence a person can act on. */
  get words(): string {
    const lead = CODE_WORDS[this.code] ?? "Something went wrong";
    // What the browser says of a lost connection ("TypeError: Failed to fetch") helps nobody.
    if (this.code === "NETWORK") return `${lead}. Check the connection and try again.`;
    const where = this.field ? ` (${this.field})` : "";
    return `${lead}${where}: ${this.message}`;
  }
  /** Worth trying again as it is: the connection or the server, not the input. */
  get retryable(): boolean {
    return ["NETWORK", "UNAVAILABLE", "TIMEOUT", "RATE_LIMITED", "INTERNAL"].includes(this.code);
  }
}

const CODE_WORDS: Record<string, string> = {
  VALIDATION: "Please check the form",
  UNAUTHENTICATED: "Please sign in again",
  FORBIDDEN: "You are not allowed to do that",
  NOT_FOUND: "Not found",
  CONFLICT: "That clashes with existing data",
  INVALID_TRANSITION: "Not possible in its current state",
  RATE_LIMITED: "Too many requests; try again shortly",
  INTERNAL: "The server failed; try again",
  UNAVAILABLE: "The service is busy or its database is down; try again in a moment",
  TIMEOUT: "That took too long; try a shorter period",
  NETWORK: "The server cannot be reached",
};

export async function gql<R, V extends Record<string, unknown>>(
  doc: TypedDocumentNode<R, V>,
  variables?: V,
): Promise<R> {
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        ...(session.token ? { Authorization: `Bearer ${session.token}` } : {}),
      },
      body: JSON.stringify({ query: print(doc), variables: variables ?? {} }),
    });
  } catch (e) {
    throw new ApiError("NETWORK", String(e));
  }
  let body: { data?: R; errors?: GqlErrorShape[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.status >= 500 ? "INTERNAL" : "NETWORK", `HTTP ${response.status}`);
  }
  if (body.errors && body.errors.length > 0) {
    const first = body.errors[0];
    const code = first.extensions?.code ?? "INTERNAL";
    if (code === "UNAUTHENTICATED" && session.token) signOut();
    throw new ApiError(code, first.message, first.extensions?.field, first.extensions?.errors);
  }
  if (!body.data) throw new ApiError("INTERNAL", "empty answer");
  return body.data;
}

export function errorWords(e: unknown): string {
  if (e instanceof ApiError) return e.words;
  return e instanceof Error ? e.message : String(e);
}

/** Whether the subscription socket is open (the live feed shows it). */
export const socket = reactive({ connected: false });

let wsClient: Client | null = null;
let wsToken: string | null = null;

/** The subscription client for the current token (re-created when the token changes). */
export function subscriptions(): Client {
  if (!wsClient || wsToken !== session.token) {
    wsClient?.dispose();
    wsToken = session.token;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    wsClient = createClient({
      url: `${proto}://${location.host}/graphql/ws`,
      connectionParams: () => ({ authorization: `Bearer ${session.token ?? ""}` }),
      retryAttempts: Infinity,
      shouldRetry: () => true,
      on: {
        connected: () => (socket.connected = true),
        closed: () => (socket.connected = false),
      },
    });
  }
  return wsClient;
}

export function subscribe<R, V extends Record<string, unknown>>(
  doc: TypedDocumentNode<R, V>,
  variables: V,
  onData: (data: R) => void,
  onError: (e: unknown) => void,
): () => void {
  return subscriptions().subscribe<R>(
    { query: print(doc), variables },
    {
      next: (msg) => {
        if (msg.data) onData(msg.data as R);
        if (msg.errors?.length) onError(new ApiError(String(msg.errors[0].extensions?.code ?? "INTERNAL"), msg.errors[0].message));
      },
      error: onError,
      complete: () => {},
    },
  );
}

/** Relay cursors are offsets (`o:N`, base64url): page N of size S starts after offset N*S-1. */
export function afterForPage(page: number, size: number): string | undefined {
  if (page <= 1) return undefined;
  return btoa(`o:${(page - 1) * size - 1}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Downloads a file from a REST route with the session's token (a plain link would
 * carry none); the server's error comes back as an ApiError, in words. */
export async function download(path: string, fallbackName: string): Promise<void> {
  let r: Response;
  try {
    r = await fetch(path, { headers: { Authorization: `Bearer ${session.token ?? ""}` } });
  } catch (e) {
    throw new ApiError("NETWORK", String(e));
  }
  if (!r.ok) {
    const body = await r.json().catch(() => null);
    const err = body?.error;
    throw new ApiError(err?.code ?? (r.status >= 500 ? "INTERNAL" : "VALIDATION"), err?.message ?? `HTTP ${r.status}`, err?.field, err?.errors);
  }
  const named = /filename="([^"]+)"/.exec(r.headers.get("content-disposition") ?? "")?.[1];
  const blob = await r.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = named ?? fallbackName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(a.href);
}
