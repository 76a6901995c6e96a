// Who is signed in, kept in localStorage so a reload or a shared link keeps the session.
import { reactive } from "vue";

export type Role = "ADMIN" | "ANALYST" | "AFFILIATE";

interface Session {
  token: string | null;
  email: string | null;
  role: Role | null;
  affiliateId: string | null;
  expiresAt: string | null;
}

const KEY = "alpes.session";

function load(): Session {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? "null") as Session | null;
    if (s && s.token && s.expiresAt && new Date(s.expiresAt) > new Date()) return s;
  } catch {
    /* a broken entry is the same as none */
  }
  return { token: null, email: null, role: null, affiliateId: null, expiresAt: null };
}

export const session = reactive<Session>(load());

export function signIn(s: Session) {
  Object.assign(session, s);
  localStorage.setItem(KEY, JSON.stringify(s));
}

export function signOut() {
  Object.assign(session, { token: null, email: null, role: null, affiliateId: null, expiresAt: null });
  localStorage.removeItem(KEY);
  if (!location.pathname.startsWith("/login")) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
}

export const isAdmin = () => session.role === "ADMIN";
export const isAffiliate = () => session.role === "AFFILIATE";
