// Sign in and sign up. Both answer a session, kept by SessionProvider; then back to where the
// visitor was going (?next=, same-site paths only).

import { useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { ActionKey, ApiError, api } from "../api";
import { useSession } from "../auth/session";
import { ErrorMessage } from "../components/common";
import { usePageTitle } from "../lib/hooks";

export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

function fieldOf(err: unknown): string | null {
  return err instanceof ApiError && err.field ? err.field : null;
}

function Field(props: {
  id: string;
  label: string;
  type?: string;
  autoComplete: string;
  value: string;
  onChange: (v: string) => void;
  hint?: string;
  invalid: boolean;
  required?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}) {
  const hintId = props.hint ? `${props.id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        name={props.id}
        type={props.type ?? "text"}
        autoComplete={props.autoComplete}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-invalid={props.invalid || undefined}
        aria-describedby={[hintId, props.invalid ? "form-error" : undefined].filter(Boolean).join(" ") || undefined}
        required={props.required ?? true}
        minLength={props.minLength}
        maxLength={props.maxLength}
        pattern={props.pattern}
      />
      {props.hint && (
        <p id={hintId} className="hint">
          {props.hint}
        </p>
      )}
    </div>
  );
}

export function SignInPage() {
  usePageTitle("Sign in");
  const { signIn } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const action = useRef(new ActionKey());
  const next = safeNext(params.get("next"));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      signIn(await api.login({ username: username.trim(), password }, action.current));
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="page narrow">
      <h1>Sign in</h1>
      <form onSubmit={submit} noValidate={false}>
        <Field id="username" label="Username" autoComplete="username" value={username} onChange={setUsername} invalid={fieldOf(error) === "username"} />
        <Field
          id="password"
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={setPassword}
          invalid={fieldOf(error) === "password"}
        />
        <div id="form-error">
          <ErrorMessage error={error} />
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p>
        New here? <Link to={`/signup${next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}`}>Create an account</Link>
      </p>
    </main>
  );
}

export function SignUpPage() {
  usePageTitle("Sign up");
  const { signIn } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const action = useRef(new ActionKey());
  const next = safeNext(params.get("next"));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: { username: string; password: string; email: string; display_name?: string } = {
        username: username.trim(),
        password,
        email: email.trim(),
      };
      if (displayName.trim()) body.display_name = displayName.trim();
      signIn(await api.register(body, action.current));
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const bad = fieldOf(error);

  return (
    <main id="main" className="page narrow">
      <h1>Sign up</h1>
      <form onSubmit={submit}>
        <Field
          id="username"
          label="Username"
          autoComplete="username"
          value={username}
          onChange={setUsername}
          hint="3 to 32 letters, digits, dots, dashes or underscores."
          invalid={bad === "username" || (error instanceof ApiError && error.code === "USERNAME_TAKEN")}
          minLength={3}
          maxLength={32}
          pattern="[A-Za-z0-9_.\-]{3,32}"
        />
        <Field id="email" label="Email" type="email" autoComplete="email" value={email} onChange={setEmail} invalid={bad === "email"} />
        <Field
          id="display_name"
          label="Display name (optional)"
          autoComplete="nickname"
          value={displayName}
          onChange={setDisplayName}
          invalid={bad === "display_name"}
          required={false}
        />
        <Field
          id="password"
          label="Password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
          hint="At least 8 characters."
          invalid={bad === "password"}
          minLength={8}
          maxLength={128}
        />
        <div id="form-error">
          <ErrorMessage error={error} />
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Creating your account…" : "Create account"}
        </button>
      </form>
      <p>
        Already have an account? <Link to={`/signin${next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}`}>Sign in</Link>
      </p>
    </main>
  );
}
