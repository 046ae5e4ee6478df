// The merchant console's frame: which merchant, its status, and the console's navigation.
// Also onboarding (name, kind, country) for a user who has no merchant yet.
import { useState } from 'preact/hooks';
import { listItems, newIdempotencyKey, post } from '../../lib/api.js';
import { loadMe } from '../../lib/auth.js';
import { MERCHANT_KINDS, statusLabel } from '../../lib/format.js';
import { Link, navigate, useLocation } from '../../lib/router.jsx';
import { session, useStore } from '../../lib/store.js';
import { Async, ErrorBox, Field, KindBadge, Page, Select, TextArea, useAction, useApi } from '../../components/ui.jsx';

const NAV = [
    ['', 'Overview'],
    ['/products', 'Products'],
    ['/stock', 'Stock'],
    ['/orders', 'Orders'],
    ['/live', 'Live rooms'],
    ['/ledger', 'Ledger'],
    ['/figures', 'Sales figures'],
];

/** Wraps a console page: loads the merchant and passes it down as `merchant`. */
export function ConsoleFrame({ mid, children }) {
    const state = useApi(`/merchants/${encodeURIComponent(mid)}`);
    const loc = useLocation();
    const { user } = useStore(session);
    const m = state.data;
    const mine = ((user && user.merchants) || []).filter((x) => x && x.id != null);
    return (
        <div class="console">
            <nav class="console-nav" aria-label="Merchant console">
                <p class="console-merchant">
                    <strong>{m ? m.name : `Merchant ${mid}`}</strong>
                    {m && <KindBadge kind={m.kind} />}
                </p>
                {mine.length > 1 && (
                    <Select
                        label="Switch merchant"
                        value={String(mid)}
                        onChange={(v) => navigate(`/merchant/${v}`)}
                        options={mine.map((x) => [String(x.id), x.name])}
                        class="switcher"
                    />
                )}
                <ul>
                    {NAV.map(([suffix, label]) => {
                        const href = `/merchant/${mid}${suffix}`;
                        const current = suffix ? loc.path.startsWith(href) : loc.path === href;
                        return (
                            <li key={suffix}>
                                <Link href={href} class={current ? 'current' : ''} aria-current={current ? 'page' : undefined}>
                                    {label}
                                </Link>
                            </li>
                        );
                    })}
                </ul>
            </nav>
            <div class="console-main">
                {m && m.status && m.status !== 'active' && (
                    <p class={`notice notice-${m.status}`} role="status">
                        {m.status === 'pending'
                            ? 'Waiting for an operator to approve this merchant. You can prepare products now; shoppers see them once you are approved.'
                            : `This merchant is ${statusLabel(m.status)}. Shoppers cannot buy its products.`}
                    </p>
                )}
                <Async state={state}>{m && children(m)}</Async>
            </div>
        </div>
    );
}

export function Onboarding({ title = 'Open your shop · 商家入驻' }) {
    const [f, setF] = useState({ name: '', kind: 'sme', country: 'CN', description: '' });
    const [key] = useState(newIdempotencyKey);
    const [run, { busy, error }] = useAction();
    const set = (k) => (v) => setF({ ...f, [k]: v });
    const submit = (e) => {
        e.preventDefault();
        run(async () => {
            const body = { name: f.name.trim(), kind: f.kind, country: f.country.trim().toUpperCase() };
            if (f.description.trim()) body.description = f.description.trim();
            const m = await post('/merchants', body, { idempotencyKey: key });
            await loadMe();
            navigate(`/merchant/${m.id}`, { replace: true });
        });
    };
    return (
        <Page title={title}>
            <form class="form narrow" onSubmit={submit} aria-label="Merchant onboarding">
                <p>Tell us about your business. An operator reviews every new merchant before shoppers can buy.</p>
                <Field label="Shop name" required value={f.name} onInput={set('name')} error={error && error.fieldMessage('name')} />
                <Select
                    label="Kind of business"
                    value={f.kind}
                    onChange={set('kind')}
                    options={MERCHANT_KINDS.map(([v, en, zh]) => [v, `${en} · ${zh}`])}
                    error={error && error.fieldMessage('kind')}
                />
                <Field
                    label="Country code"
                    required
                    maxLength={2}
                    hint="Where you ship from: two letters, e.g. CN, VN, US"
                    value={f.country}
                    onInput={set('country')}
                    error={error && error.fieldMessage('country')}
                />
                <TextArea label="Description (optional)" value={f.description} onInput={set('description')} error={error && error.fieldMessage('description')} />
                <ErrorBox error={error} />
                <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
                    {busy ? 'Submitting…' : 'Submit for approval'}
                </button>
            </form>
        </Page>
    );
}

/** /merchant: pick one of my merchants, or onboard the first. */
export function MerchantHome() {
    const { user } = useStore(session);
    const mine = ((user && user.merchants) || []).filter((x) => x && x.id != null);
    if (!mine.length) return <Onboarding />;
    return (
        <Page title="Your merchants" actions={<Link class="btn" href="/merchant/new">Open another shop</Link>}>
            <ul class="room-list">
                {mine.map((m) => (
                    <li class="card" key={m.id}>
                        <Link href={`/merchant/${m.id}`}>{m.name}</Link> <span class="muted">· {m.role}</span>
                    </li>
                ))}
            </ul>
        </Page>
    );
}

/** Category options for selects: the tree flattened, children indented. */
export function categoryOptions(tree) {
    const out = [];
    const walk = (nodes, depth) => {
        for (const n of listItems(nodes)) {
            out.push([String(n.id), `${'— '.repeat(depth)}${n.name}`]);
            walk(n.children || [], depth + 1);
        }
    };
    walk(tree, 0);
    return out;
}
