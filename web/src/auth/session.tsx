// The signed-in user: the session from register/login, kept in localStorage until it expires or
// the user signs out. The API client reads the token from here.

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import type { Session } from "../api/types";

const KEY = "tacos.session";

interface Stored {
  session: Session;
  expiresAt: number;
}

export function loadSession(now: number = Date.now()): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Stored;
    if (!s.session?.token || s.expiresAt <= now) {
      localStorage.removeItem(KEY);
      return null;
    }
    return s.session;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null, now: number = Date.now()): void {
  try {
    if (!session) localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, JSON.stringify({ session, expiresAt: now + session.expires_in * 1000 } satisfies Stored));
  } catch {
    // storage disabled: the session lives only in memory
  }
}

export function currentToken(): string | null {
  return loadSession()?.token ?? null;
}

interface SessionContextValue {
  session: Session | null;
  /** Why the user was signed out, when it was not their choice. */
  notice: string | null;
  signIn: (s: Session) => void;
  signOut: (notice?: string) => void;
}

const SessionContext = createContext<SessionContextValue | null>(null);

const listeners = new Set<(notice: string) => void>();

/** Called by the API client when the server refuses the token. */
export function expireSession(): void {
  saveSession(null);
  for (const l of listeners) l("Your session has expired. Please sign in again.");
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [notice, setNotice] = useState<string | null>(null);

  const signOut = useCallback((why?: string) => {
    saveSession(null);
    setSession(null);
    setNotice(why ?? null);
  }, []);
  const signIn = useCallback((s: Session) => {
    saveSession(s);
    setSession(s);
    setNotice(null);
  }, []);

  useEffect(() => {
    const l = (why: string) => signOut(why);
    listeners.add(l);
    // Another tab signed in or out.
    const onStorage = (e: StorageEvent) => {
      if (e.key === KEY) setSession(loadSession());
    };
    window.addEventListener("storage", onStorage);
    return () => {
      listeners.delete(l);
      window.removeEventListener("storage", onStorage);
    };
  }, [signOut]);

  const value = useMemo(() => ({ session, notice, signIn, signOut }), [session, notice, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error("useSession outside SessionProvider");
  return v;
}
