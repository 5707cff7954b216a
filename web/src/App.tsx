import { Link, NavLink, Navigate, Route, Routes, useLocation } from "react-router-dom";
import type { ReactNode } from "react";
import { useSession } from "./auth/session";
import { EventsPage } from "./pages/EventsPage";
import { EventPage } from "./pages/EventPage";
import { WaitingRoomPage } from "./pages/WaitingRoomPage";
import { SeatsPage } from "./pages/SeatsPage";
import { CheckoutPage } from "./pages/CheckoutPage";
import { ConfirmationPage } from "./pages/ConfirmationPage";
import { MyTicketsPage } from "./pages/MyTicketsPage";
import { SignInPage, SignUpPage } from "./pages/AuthPages";
import { AdminPage } from "./pages/AdminPage";
import { AdminEventPage } from "./pages/AdminEventPage";
import { Notice } from "./components/common";

/** Sends visitors who are not signed in (or not organisers) to sign in, and back afterwards. */
export function RequireAuth({ children, admin = false }: { children: ReactNode; admin?: boolean }) {
  const { session } = useSession();
  const loc = useLocation();
  if (!session) return <Navigate to={`/signin?next=${encodeURIComponent(loc.pathname + loc.search)}`} replace />;
  if (admin && session.role !== "admin") {
    return (
      <main id="main" className="page">
        <h1>Organisers only</h1>
        <p>This part is for organisers. You are signed in as {session.username}, who is not one.</p>
      </main>
    );
  }
  return <>{children}</>;
}

export function App() {
  const { session, signOut, notice } = useSession();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} /> Traffic Tacos
        </Link>
        <nav aria-label="Main">
          <ul>
            <li>
              <NavLink to="/" end>
                Events
              </NavLink>
            </li>
            {session && (
              <li>
                <NavLink to="/tickets">My tickets</NavLink>
              </li>
            )}
            {session?.role === "admin" && (
              <li>
                <NavLink to="/admin">Organiser</NavLink>
              </li>
            )}
            {session ? (
              <li>
                <button type="button" className="linklike" onClick={() => signOut()}>
                  Sign out <span className="who">({session.display_name || session.username})</span>
                </button>
              </li>
            ) : (
              <>
                <li>
                  <NavLink to="/signin">Sign in</NavLink>
                </li>
                <li>
                  <NavLink to="/signup">Sign up</NavLink>
                </li>
              </>
            )}
          </ul>
        </nav>
      </header>
      {notice && (
        <div className="page-notice">
          <Notice kind="warning">{notice}</Notice>
        </div>
      )}
      <Routes>
        <Route path="/" element={<EventsPage />} />
        <Route path="/events/:id" element={<EventPage />} />
        <Route
          path="/events/:id/queue"
          element={
            <RequireAuth>
              <WaitingRoomPage />
            </RequireAuth>
          }
        />
        <Route
          path="/events/:id/seats"
          element={
            <RequireAuth>
              <SeatsPage />
            </RequireAuth>
          }
        />
        <Route
          path="/checkout/:rid"
          element={
            <RequireAuth>
              <CheckoutPage />
            </RequireAuth>
          }
        />
        <Route
          path="/tickets/:rid"
          element={
            <RequireAuth>
              <ConfirmationPage />
            </RequireAuth>
          }
        />
        <Route
          path="/tickets"
          element={
            <RequireAuth>
              <MyTicketsPage />
            </RequireAuth>
          }
        />
        <Route path="/signin" element={<SignInPage />} />
        <Route path="/signup" element={<SignUpPage />} />
        <Route
          path="/admin"
          element={
            <RequireAuth admin>
              <AdminPage />
            </RequireAuth>
          }
        />
        <Route
          path="/admin/events/:id"
          element={
            <RequireAuth admin>
              <AdminEventPage />
            </RequireAuth>
          }
        />
        <Route
          path="*"
          element={
            <main id="main" className="page">
              <h1>Page not found</h1>
              <p>
                There is nothing at this address. <Link to="/">See the events</Link>.
              </p>
            </main>
          }
        />
      </Routes>
    </>
  );
}
