// Operator console: approve merchants, keep the category tree, run merchant programs, read
// platform figures and the exposure report.
import { useState } from 'preact/hooks';
import { isMissingEndpoint, listItems, newIdempotencyKey, post, put, qs } from '../../lib/api.js';
import { MERCHANT_KINDS, formatTime, kindLabel, statusLabel } from '../../lib/format.js';
import { Link, useLocation } from '../../lib/router.jsx';
import { toast } from '../../lib/store.js';
import { FiguresView } from '../../components/figures.jsx';
import { Async, ConfirmButton, Empty, ErrorBox, Field, GenericTable, KindBadge, LoadMore, Page, Select, StatusChip, useAction, useApi, useList } from '../../components/ui.jsx';
import { categoryOptions } from '../merchant/layout.jsx';

const NAV = [
    ['/admin/merchants', 'Merchants'],
    ['/admin/categories', 'Categories'],
    ['/admin/programs', 'Programs'],
    ['/admin/figures', 'Platform figures'],
    ['/admin/exposure', 'Exposure'],
];

export function AdminFrame({ children }) {
    const loc = useLocation();
    return (
        <div class="console">
            <nav class="console-nav" aria-label="Operator console">
                <p class="console-merchant">
                    <strong>Operator</strong>
                </p>
                <ul>
                    {NAV.map(([href, label]) => {
                        const current = loc.path.startsWith(href);
                        return (
                            <li key={href}>
                                <Link href={href} class={current ? 'current' : ''} aria-current={current ? 'page' : undefined}>
                                    {label}
                                </Link>
                            </li>
                        );
                    })}
                </ul>
            </nav>
            <div class="console-main">{children}</div>
        </div>
    );
}

function MerchantRow({ m, onDone }) {
    const [run, { busy, error }] = useAction();
    const [bp, setBp] = useState(String(m.commission_bp ?? 500));
    const act = (fn, msg) =>
        run(async () => {
            await fn();
            toast(msg, 'ok');
            onDone();
        });
    return (
        <li class="card merchant-row">
            <div class="order-card-head">
                <span>
                    <strong>{m.name}</strong> <KindBadge kind={m.kind} /> <span class="muted">· {m.country}</span>
                </span>
                <StatusChip status={m.status} />
            </div>
            {m.description && <p class="muted">{m.description}</p>}
            <p class="muted">
                Merchant {m.id}
                {m.created_at ? ` · applied ${formatTime(m.created_at)}` : ''}
            </p>
            <ErrorBox error={error} />
            <div class="actions">
                {m.status !== 'active' && (
                    <button type="button" class="btn btn-primary btn-small" disabled={busy} onClick={() => act(() => post(`/merchants/${m.id}/approve`), `${m.name} approved`)}>
                        Approve <span class="sr-only">{m.name}</span>
                    </button>
                )}
                {m.status === 'active' && (
                    <ConfirmButton class="btn btn-small" label={`Suspend`} confirmLabel={`Confirm: suspend ${m.name}`} disabled={busy} onConfirm={() => act(() => post(`/merchants/${m.id}/suspend`), `${m.name} suspended`)} />
                )}
                <form
                    class="inline-form"
                    onSubmit={(e) => {
                        e.preventDefault();
                        act(() => put(`/merchants/${m.id}/commission`, { commission_bp: Math.floor(Number(bp)) }), `Commission of ${m.name} set to ${bp} bp`);
                    }}
                >
                    <Field label={`Commission for ${m.name} (basis points)`} type="number" min="0" max="10000" step="1" value={bp} onInput={setBp} class="qty-field label-hidden" hint="500 bp = 5%" />
                    <button type="submit" class="btn btn-small" disabled={busy || bp === String(m.commission_bp)}>
                        Set commission
                    </button>
                </form>
            </div>
        </li>
    );
}

export function AdminMerchants() {
    const [status, setStatus] = useState('pending');
    const [kind, setKind] = useState('');
    const list = useList(`/merchants${qs({ status, kind, limit: 50 })}`);
    return (
        <Page title="Merchants · 商家审核">
            <div class="row-form">
                <Select
                    label="Status"
                    value={status}
                    onChange={setStatus}
                    options={[
                        ['pending', 'Waiting for approval'],
                        ['active', 'Active'],
                        ['suspended', 'Suspended'],
                        ['', 'All'],
                    ]}
                />
                <Select label="Kind" value={kind} onChange={setKind} options={[['', 'All kinds'], ...MERCHANT_KINDS.map(([v]) => [v, kindLabel(v)])]} />
            </div>
            <Async state={list} empty={<Empty title={status === 'pending' ? 'No merchants waiting for approval' : 'No merchants match'} />}>
                <ul class="order-list">
                    {list.items.map((m) => (
                        <MerchantRow key={m.id} m={m} onDone={list.reload} />
                    ))}
                </ul>
                <LoadMore list={list} />
            </Async>
        </Page>
    );
}

function Tree({ nodes }) {
    return (
        <ul class="tree">
            {nodes.map((n) => (
                <li key={n.id}>
                    <span>
                        {n.name} <span class="muted">#{n.id}</span>
                    </span>
                    {n.children && n.children.length > 0 && <Tree nodes={n.children} />}
                </li>
            ))}
        </ul>
    );
}

export function AdminCategories() {
    const state = useApi('/categories');
    const tree = listItems(state.data);
    const [f, setF] = useState({ name: '', parent_id: '' });
    const [key, setKey] = useState(newIdempotencyKey);
    const [run, { busy, error }] = useAction();
    const submit = (e) => {
        e.preventDefault();
        run(async () => {
            const body = { name: f.name.trim() };
            if (f.parent_id) body.parent_id = f.parent_id;
            const c = await post('/categories', body, { idempotencyKey: key });
            setKey(newIdempotencyKey());
            toast(`Category “${c.name}” created`, 'ok');
            setF({ ...f, name: '' });
            state.reload();
        });
    };
    return (
        <Page title="Category tree · 类目">
            <div class="two-col">
                <section aria-labelledby="h-tree">
                    <h2 id="h-tree">Categories</h2>
                    <Async state={state} empty={<Empty title="No categories yet">Create the first top-level category.</Empty>}>
                        <Tree nodes={tree} />
                    </Async>
                </section>
                <form class="form card" onSubmit={submit} aria-label="New category">
                    <h2>New category</h2>
                    <Field label="Category name" required value={f.name} onInput={(v) => setF({ ...f, name: v })} error={error && error.fieldMessage('name')} />
                    <Select label="Parent" value={f.parent_id} onChange={(v) => setF({ ...f, parent_id: v })} options={[['', '(top level)'], ...categoryOptions(tree)]} error={error && error.fieldMessage('parent_id')} />
                    <ErrorBox error={error} />
                    <button class="btn btn-primary" type="submit" disabled={busy}>
                        {busy ? 'Creating…' : 'Create category'}
                    </button>
                </form>
            </div>
        </Page>
    );
}

/** Enroll an active merchant of an eligible kind in program p. */
function EnrollForm({ program, merchants, onDone }) {
    const eligible = merchants.filter((m) => (program.eligible_kinds || []).includes(m.kind) && !(program.merchant_ids || []).includes(m.id));
    const [mid, setMid] = useState('');
    const [run, { busy, error }] = useAction();
    if (!eligible.length) return <p class="muted">No other active merchant of an eligible kind to enroll.</p>;
    const submit = (e) => {
        e.preventDefault();
        run(async () => {
            await post(`/programs/${program.id}/enroll`, { merchant_id: mid || eligible[0].id });
            toast('Merchant enrolled', 'ok');
            onDone();
        });
    };
    return (
        <form class="field-row" onSubmit={submit} aria-label={`Enroll a merchant in ${program.name}`}>
            <Select label="Merchant to enroll" value={mid || eligible[0].id} onChange={setMid} options={eligible.map((m) => [m.id, `${m.name} (${kindLabel(m.kind)})`])} />
            <button class="btn btn-small" type="submit" disabled={busy}>{busy ? 'Enrolling…' : 'Enroll'}</button>
            <ErrorBox error={error} />
        </form>
    );
}

export function AdminPrograms() {
    const state = useApi('/programs');
    const programs = listItems(state.data);
    const active = useApi('/merchants?status=active&limit=100');
    const merchants = listItems(active.data);
    const missing = isMissingEndpoint(state.error);
    const [f, setF] = useState({ name: '', kinds: ['exporter'], commission_bp: '200', boost: '1.5', starts_at: '', ends_at: '' });
    const [key, setKey] = useState(newIdempotencyKey);
    const [run, { busy, error }] = useAction();
    const toggleKind = (k) => setF({ ...f, kinds: f.kinds.includes(k) ? f.kinds.filter((x) => x !== k) : [...f.kinds, k] });
    const submit = (e) => {
        e.preventDefault();
        run(async () => {
            const body = { name: f.name.trim(), eligible_kinds: f.kinds };
            if (f.commission_bp !== '') body.commission_bp = Math.floor(Number(f.commission_bp));
            if (f.boost !== '') body.boost = Number(f.boost);
            if (f.starts_at) body.starts_at = new Date(f.starts_at).toISOString();
            if (f.ends_at) body.ends_at = new Date(f.ends_at).toISOString();
            await post('/programs', body, { idempotencyKey: key });
            setKey(newIdempotencyKey());
            toast('Program created', 'ok');
            state.reload();
        });
    };
    return (
        <Page title="Merchant programs · 商家扶持计划">
            {missing ? (
                <Empty title="Merchant programs are not available on this server yet">
                    When souk supports programs, you can give eligible merchant kinds a lower commission and more visibility for a time here.
                </Empty>
            ) : (
                <div class="two-col">
                    <section aria-labelledby="h-progs">
                        <h2 id="h-progs">Programs</h2>
                        <Async state={state} empty={<Empty title="No programs yet" />}>
                            <ul class="order-list">
                                {programs.map((p) => (
                                    <li class="card" key={p.id}>
                                        <div class="order-card-head">
                                            <strong>{p.name}</strong>
                                            {p.status && <StatusChip status={p.status} />}
                                        </div>
                                        <p>{(p.kinds || p.eligible_kinds || []).map(kindLabel).join(', ')}</p>
                                        <p class="muted">
                                            {p.commission_bp != null && `Commission ${(p.commission_bp / 100).toFixed(2)}% · `}
                                            {p.boost != null && `Visibility ×${p.boost} · `}
                                            {formatTime(p.starts_at)} – {formatTime(p.ends_at)}
                                        </p>
                                        <p>
                                            {p.active ? 'Active now' : 'Not active now'} · {(p.merchant_ids || []).length} merchant(s) enrolled
                                        </p>
                                        <EnrollForm program={p} merchants={merchants} onDone={state.reload} />
                                    </li>
                                ))}
                            </ul>
                        </Async>
                    </section>
                    <form class="form card" onSubmit={submit} aria-label="New program">
                        <h2>New program</h2>
                        <Field label="Program name" required value={f.name} onInput={(v) => setF({ ...f, name: v })} error={error && error.fieldMessage('name')} />
                        <fieldset>
                            <legend>Eligible merchant kinds</legend>
                            {MERCHANT_KINDS.map(([k]) => (
                                <label class="check" key={k}>
                                    <input type="checkbox" checked={f.kinds.includes(k)} onChange={() => toggleKind(k)} /> {kindLabel(k)}
                                </label>
                            ))}
                        </fieldset>
                        <div class="field-row">
                            <Field label="Commission (basis points)" type="number" min="0" max="10000" value={f.commission_bp} onInput={(v) => setF({ ...f, commission_bp: v })} error={error && error.fieldMessage('commission_bp')} />
                            <Field label="Visibility boost" type="number" min="1" step="0.1" value={f.boost} onInput={(v) => setF({ ...f, boost: v })} error={error && error.fieldMessage('boost')} />
                        </div>
                        <div class="field-row">
                            <Field label="Starts" type="datetime-local" value={f.starts_at} onInput={(v) => setF({ ...f, starts_at: v })} error={error && error.fieldMessage('starts_at')} />
                            <Field label="Ends" type="datetime-local" value={f.ends_at} onInput={(v) => setF({ ...f, ends_at: v })} error={error && error.fieldMessage('ends_at')} />
                        </div>
                        <ErrorBox error={error} />
                        <button class="btn btn-primary" type="submit" disabled={busy}>
                            {busy ? 'Creating…' : 'Create program'}
                        </button>
                    </form>
                </div>
            )}
        </Page>
    );
}

export function AdminFigures() {
    return (
        <Page title="Platform figures · 平台数据">
            <FiguresView base="/admin/figures" who="platform" />
        </Page>
    );
}

/** The exposure report: how impressions spread over merchants (by kind, new vs established). */
export function AdminExposure() {
    const state = useApi('/admin/exposure');
    const d = state.data;
    const tables = [];
    if (d && typeof d === 'object') {
        if (Array.isArray(d)) tables.push(['Exposure', d]);
        for (const [k, v] of Object.entries(Array.isArray(d) ? {} : d)) {
            if (Array.isArray(v) && v.length && typeof v[0] === 'object') tables.push([k === 'items' ? 'Merchants' : statusLabel(k), v]);
        }
    }
    const scalars = d && !Array.isArray(d) ? Object.entries(d).filter(([, v]) => v == null || typeof v !== 'object') : [];
    return (
        <Page title="Exposure report · 曝光报告">
            <Async
                state={state}
                missing={
                    <Empty title="The exposure report is not available on this server yet">
                        It will show how search and feed impressions are shared among merchants, so small and new merchants are not starved.
                    </Empty>
                }
            >
                {scalars.length > 0 && (
                    <dl class="stats">
                        {scalars.map(([k, v]) => (
                            <div key={k}>
                                <dt>{statusLabel(k)}</dt>
                                <dd>{String(v)}</dd>
                            </div>
                        ))}
                    </dl>
                )}
                {tables.length === 0 ? <Empty title="No impressions recorded yet" /> : tables.map(([title, rows]) => <GenericTable key={title} caption={title} rows={rows} />)}
            </Async>
        </Page>
    );
}
