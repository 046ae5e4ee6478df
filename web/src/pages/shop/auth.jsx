// Sign-in and sign-up. After either, the visitor returns to ?next= (default: home).
import { useEffect, useState } from 'preact/hooks';
import { signIn, signUp } from '../../lib/auth.js';
import { Link, navigate, useLocation } from '../../lib/router.jsx';
import { session, useStore } from '../../lib/store.js';
import { ErrorBox, Field, Loading, Page, useAction } from '../../components/ui.jsx';

function nextPath(loc) {
    const n = loc.query.get('next') || '/';
    return n.startsWith('/') && !n.startsWith('//') ? n : '/';
}

export function SignIn() {
    const loc = useLocation();
    const [email, setEmail] = useState('');
    const [password, setPassword] = useState('');
    const [run, { busy, error }] = useAction();
    const submit = (e) => {
        e.preventDefault();
        run(async () => {
            await signIn(email.trim(), password);
            navigate(nextPath(loc), { replace: true });
        });
    };
    return (
        <Page title="Sign in">
            <form class="form narrow" onSubmit={submit} aria-label="Sign in" noValidate>
                <ErrorBox error={error} />
                <Field label="Email" type="email" autoComplete="email" required value={email} onInput={setEmail} error={error && error.fieldMessage('email')} />
                <Field label="Password" type="password" autoComplete="current-password" required value={password} onInput={setPassword} error={error && error.fieldMessage('password')} />
                <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
                    {busy ? 'Signing in…' : 'Sign in'}
                </button>
                <p>
                    New to souk? <Link href={`/signup${loc.search}`}>Create an account</Link>
                </p>
            </form>
        </Page>
    );
}

export function SignUp() {
    const loc = useLocation();
    const [f, setF] = useState({ name: '', email: '', password: '' });
    const [run, { busy, error }] = useAction();
    const set = (k) => (v) => setF({ ...f, [k]: v });
    const submit = (e) => {
        e.preventDefault();
        run(async () => {
            await signUp(f.name.trim(), f.email.trim(), f.password);
            navigate(nextPath(loc), { replace: true });
        });
    };
    return (
        <Page title="Create your account">
            <form class="form narrow" onSubmit={submit} aria-label="Sign up" noValidate>
                <ErrorBox error={error} />
                <Field label="Name" autoComplete="name" required value={f.name} onInput={set('name')} error={error && error.fieldMessage('name')} />
                <Field label="Email" type="email" autoComplete="email" required value={f.email} onInput={set('email')} error={error && error.fieldMessage('email')} />
                <Field
                    label="Password"
                    type="password"
                    autoComplete="new-password"
                    required
                    minLength={8}
                    hint="At least 8 characters."
                    value={f.password}
                    onInput={set('password')}
                    error={error && error.fieldMessage('password')}
                />
                <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
                    {busy ? 'Creating account…' : 'Sign up'}
                </button>
                <p>
                    Have an account? <Link href={`/signin${loc.search}`}>Sign in</Link>
                </p>
            </form>
        </Page>
    );
}

/** Renders children for a signed-in user; otherwise sends the visitor to sign in. */
export function RequireUser({ children, role }) {
    const { user, loaded } = useStore(session);
    const loc = useLocation();
    const here = loc.path + loc.search;
    useEffect(() => {
        if (loaded && !user) navigate(`/signin?next=${encodeURIComponent(here)}`, { replace: true });
    }, [loaded, user]);
    if (!loaded || !user) return <Loading label="Checking your sign-in…" />;
    if (role && user.role !== role)
        return (
            <Page title="Not available">
                <div class="error-box" role="alert">
                    <p class="error-title">This area is for {role}s</p>
                    <p class="error-detail">
                        You are signed in as {user.email}. <Link href={`/signin?next=${encodeURIComponent(here)}`}>Sign in with another account</Link>.
                    </p>
                </div>
            </Page>
        );
    return children;
}
