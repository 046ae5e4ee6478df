// Shared building blocks: data hooks, labelled form fields, readable errors, empty states.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, isMissingEndpoint, listItems } from '../lib/api.js';
import { formatMoney, formatTime, kindLabel, statusLabel } from '../lib/format.js';
import { Link } from '../lib/router.jsx';
import { EmptyIcon } from './icons.jsx';

let uid = 0;
export function useId(prefix = 'f') {
    const r = useRef(null);
    if (r.current === null) r.current = `${prefix}-${++uid}`;
    return r.current;
}

/** GET `path` (null = skip); {data, error, loading, reload}. Keeps old data while reloading. */
export function useApi(path) {
    const [state, setState] = useState({ data: null, error: null, loading: !!path });
    const [n, setN] = useState(0);
    useEffect(() => {
        if (!path) {
            setState({ data: null, error: null, loading: false });
            return undefined;
        }
        const ac = new AbortController();
        setState((s) => ({ ...s, loading: true }));
        get(path, { signal: ac.signal }).then(
            (data) => setState({ data, error: null, loading: false }),
            (error) => {
                if (error.name !== 'AbortError') setState({ data: null, error, loading: false });
            },
        );
        return () => ac.abort();
    }, [path, n]);
    const reload = useCallback(() => setN((x) => x + 1), []);
    return { ...state, reload };
}

/** A cursor list: {items, error, loading, more(), hasMore, reload}. */
export function useList(path) {
    const [state, setState] = useState({ items: [], cursor: null, error: null, loading: !!path });
    const [n, setN] = useState(0);
    const load = useCallback(
        async (cursor, signal) => {
            const sep = path.includes('?') ? '&' : '?';
            const url = cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path;
            const data = await get(url, { signal });
            return { items: listItems(data), cursor: (data && data.next_cursor) || null };
        },
        [path],
    );
    useEffect(() => {
        if (!path) return undefined;
        const ac = new AbortController();
        setState((s) => ({ ...s, loading: true }));
        load(null, ac.signal).then(
            (r) => setState({ items: r.items, cursor: r.cursor, error: null, loading: false }),
            (error) => {
                if (error.name !== 'AbortError')
                    setState({ items: [], cursor: null, error, loading: false });
            },
        );
        return () => ac.abort();
    }, [path, n, load]);
    const more = async () => {
        if (!state.cursor) return;
        setState((s) => ({ ...s, loading: true }));
        try {
            const r = await load(state.cursor);
            setState((s) => ({ items: [...s.items, ...r.items], cursor: r.cursor, error: null, loading: false }));
        } catch (error) {
            setState((s) => ({ ...s, error, loading: false }));
        }
    };
    return { ...state, more, hasMore: !!state.cursor, reload: () => setN((x) => x + 1) };
}

/** Runs an async action with a busy flag and a readable error: [run, {busy, error, setError}]. */
export function useAction() {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(null);
    const run = async (fn) => {
        setBusy(true);
        setError(null);
        try {
            return await fn();
        } catch (e) {
            setError(e instanceof ApiError ? e : new ApiError(0, { title: 'Something went wrong', detail: String(e && e.message ? e.message : e) }));
            return undefined;
        } finally {
            setBusy(false);
        }
    };
    return [run, { busy, error, setError }];
}

/** Sets the page title and gives the page its h1 (focused after navigation by App). */
export function Page({ title, children, actions, wide }) {
    useEffect(() => {
        document.title = title ? `${title} · souk 市集` : 'souk 市集';
    }, [title]);
    return (
        <section class={`page${wide ? ' page-wide' : ''}`}>
            <div class="page-head">
                <h1 tabIndex={-1}>{title}</h1>
                {actions && <div class="page-actions">{actions}</div>}
            </div>
            {children}
        </section>
    );
}

/** An API error as people read it: title, detail and the field messages. Never raw JSON. */
export function ErrorBox({ error, onRetry, skuNames }) {
    if (!error) return null;
    const fields = error.errors || [];
    return (
        <div class="error-box" role="alert">
            <p class="error-title">{error.title || error.message || 'Something went wrong'}</p>
            {error.detail && <p class="error-detail">{error.detail}</p>}
            {fields.length > 0 && (
                <ul class="error-fields">
                    {fields.map((f, i) => (
                        <li key={i}>
                            {f.field && <strong>{humanField(f.field)}: </strong>}
                            {f.message}
                        </li>
                    ))}
                </ul>
            )}
            {error.skus && error.skus.length > 0 && (
                <p class="error-detail">
                    Not enough stock for:{' '}
                    {error.skus.map((s) => (skuNames && skuNames[s]) || `SKU ${s}`).join(', ')}
                </p>
            )}
            {onRetry && (
                <button type="button" class="btn btn-small" onClick={onRetry}>
                    Try again
                </button>
            )}
        </div>
    );
}

export function humanField(field) {
    return String(field)
        .replace(/\[(\d+)\]/g, (_, n) => ` ${Number(n) + 1}`)
        .replace(/\.(\d+)/g, (_, n) => ` ${Number(n) + 1}`)
        .replace(/[._]/g, ' ')
        .replace(/^skus/, 'SKU')
        .trim();
}

export function Loading({ label = 'Loading…' }) {
    return (
        <p class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true" /> {label}
        </p>
    );
}

export function Empty({ title, children }) {
    return (
        <div class="empty" role="status">
            <span class="empty-icon">
                <EmptyIcon />
            </span>
            <p class="empty-title">{title}</p>
            {children && <div class="empty-body">{children}</div>}
        </div>
    );
}

/**
 * Renders loading / error / empty around a data view. A 404 from an endpoint that this
 * server does not have yet shows `missing` calmly instead of an error.
 */
export function Async({ state, missing, children, empty }) {
    const { data, error, loading } = state;
    if (missing && isMissingEndpoint(error)) return missing;
    if (error) return <ErrorBox error={error} onRetry={state.reload} />;
    if (loading && data == null && !(state.items && state.items.length)) return <Loading />;
    if (empty && isEmpty(state)) return empty;
    return children;
}

function isEmpty(state) {
    if (state.items) return state.items.length === 0 && !state.loading;
    const d = state.data;
    return d == null || (Array.isArray(d) && !d.length) || (d.items && !d.items.length);
}

export function Field({ label, error, hint, type = 'text', value, onInput, id, class: cls, ...rest }) {
    const autoId = useId('in');
    const fid = id || autoId;
    const errId = `${fid}-err`;
    const hintId = `${fid}-hint`;
    const describedBy = [error ? errId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined;
    return (
        <div class={`field${cls ? ` ${cls}` : ''}`}>
            <label for={fid}>{label}</label>
            <input
                id={fid}
                type={type}
                value={value}
                onInput={(e) => onInput && onInput(e.currentTarget.value, e)}
                aria-invalid={error ? 'true' : undefined}
                aria-describedby={describedBy}
                {...rest}
            />
            {hint && (
                <span class="hint" id={hintId}>
                    {hint}
                </span>
            )}
            {error && (
                <span class="field-error" id={errId}>
                    {error}
                </span>
            )}
        </div>
    );
}

export function TextArea({ label, error, value, onInput, rows = 3, ...rest }) {
    const fid = useId('ta');
    return (
        <div class="field">
            <label for={fid}>{label}</label>
            <textarea
                id={fid}
                rows={rows}
                value={value}
                onInput={(e) => onInput(e.currentTarget.value)}
                aria-invalid={error ? 'true' : undefined}
                aria-describedby={error ? `${fid}-err` : undefined}
                {...rest}
            />
            {error && (
                <span class="field-error" id={`${fid}-err`}>
                    {error}
                </span>
            )}
        </div>
    );
}

/** options: [[value, label], ...] */
export function Select({ label, error, value, onChange, options, hint, class: cls, ...rest }) {
    const fid = useId('sel');
    return (
        <div class={`field${cls ? ` ${cls}` : ''}`}>
            <label for={fid}>{label}</label>
            <select
                id={fid}
                value={value}
                onChange={(e) => onChange(e.currentTarget.value)}
                aria-invalid={error ? 'true' : undefined}
                aria-describedby={error ? `${fid}-err` : hint ? `${fid}-hint` : undefined}
                {...rest}
            >
                {options.map(([v, l]) => (
                    <option key={v} value={v}>
                        {l}
                    </option>
                ))}
            </select>
            {hint && (
                <span class="hint" id={`${fid}-hint`}>
                    {hint}
                </span>
            )}
            {error && (
                <span class="field-error" id={`${fid}-err`}>
                    {error}
                </span>
            )}
        </div>
    );
}

export function Money({ amount, currency }) {
    return <span class="money">{formatMoney(amount, currency)}</span>;
}

export function StatusChip({ status }) {
    return <span class={`chip chip-${status}`}>{statusLabel(status)}</span>;
}

export function KindBadge({ kind }) {
    if (!kind) return null;
    return (
        <span class={`badge badge-${kind}`} title="Merchant kind">
            {kindLabel(kind)}
        </span>
    );
}

const TILE_COLORS = ['#fde68a', '#bfdbfe', '#fecaca', '#bbf7d0', '#ddd6fe', '#fed7aa', '#a5f3fc'];

/** A product's picture stand-in: its first character on a colour picked from its id. */
export function ProductArt({ product, size = 'md' }) {
    const title = (product && product.title) || '?';
    const id = String((product && product.id) || title);
    let h = 0;
    for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    const ch = Array.from(title.trim())[0] || '?';
    return (
        <div class={`art art-${size}`} style={{ background: TILE_COLORS[h % TILE_COLORS.length] }} aria-hidden="true">
            {ch.toUpperCase()}
        </div>
    );
}

/** Price range of a product's SKUs, e.g. "¥9.90 – ¥19.90". */
export function PriceRange({ skus }) {
    const list = (skus || []).filter((s) => s && s.price != null);
    if (!list.length) return <span class="money">—</span>;
    const cur = list[0].currency;
    const prices = list.filter((s) => s.currency === cur).map((s) => s.price);
    const lo = Math.min(...prices);
    const hi = Math.max(...prices);
    return (
        <span class="money">
            {formatMoney(lo, cur)}
            {hi !== lo ? ` – ${formatMoney(hi, cur)}` : ''}
        </span>
    );
}

const merchantCache = new Map();
/**
 * The merchant with this id (cached for the page's life); null until loaded or on error.
 * `seed`: a merchant already embedded in an answer (products carry `merchant`), saving a fetch.
 */
export function useMerchant(id, seed) {
    if (id && seed && seed.name && !merchantCache.has(id)) {
        merchantCache.set(id, { value: seed, promise: Promise.resolve(seed) });
    }
    const [m, setM] = useState(() => (id && merchantCache.has(id) ? merchantCache.get(id).value : null));
    useEffect(() => {
        if (!id) return;
        let entry = merchantCache.get(id);
        if (!entry) {
            entry = { value: null, promise: get(`/merchants/${encodeURIComponent(id)}`).catch(() => null) };
            entry.promise.then((v) => (entry.value = v));
            merchantCache.set(id, entry);
        }
        if (entry.value) setM(entry.value);
        else entry.promise.then((v) => setM(v));
    }, [id]);
    return m;
}

export function forgetMerchant(id) {
    merchantCache.delete(id);
}

export function MerchantName({ id, badge = false, seed }) {
    const m = useMerchant(id, seed);
    return (
        <span class="merchant-name">
            <Link href={`/shop/${id}`}>{m ? m.name : `Merchant ${id}`}</Link>
            {badge && m && <> <KindBadge kind={m.kind} /></>}
        </span>
    );
}

export function ProductCard({ product }) {
    return (
        <li class="card product-card">
            <Link href={`/product/${product.id}`} class="product-link">
                <ProductArt product={product} />
                <span class="product-title">{product.title}</span>
            </Link>
            <PriceRange skus={product.skus} />
            {product.merchant_id && <MerchantName id={product.merchant_id} seed={product.merchant} badge />}
        </li>
    );
}

export function ProductGrid({ products, label }) {
    return (
        <ul class="grid" aria-label={label}>
            {products.map((p) => (
                <ProductCard key={p.id} product={p} />
            ))}
        </ul>
    );
}

export function LoadMore({ list }) {
    if (!list.hasMore) return null;
    return (
        <p class="center">
            <button type="button" class="btn" onClick={list.more} disabled={list.loading}>
                {list.loading ? 'Loading…' : 'Load more'}
            </button>
        </p>
    );
}

/** A button that asks for a second click before a destructive action. */
export function ConfirmButton({ label, confirmLabel, onConfirm, disabled, class: cls = 'btn' }) {
    const [armed, setArmed] = useState(false);
    useEffect(() => {
        if (!armed) return undefined;
        const t = setTimeout(() => setArmed(false), 5000);
        return () => clearTimeout(t);
    }, [armed]);
    if (!armed)
        return (
            <button type="button" class={cls} disabled={disabled} onClick={() => setArmed(true)}>
                {label}
            </button>
        );
    return (
        <button
            type="button"
            class={`${cls} btn-danger`}
            disabled={disabled}
            onClick={() => {
                setArmed(false);
                onConfirm();
            }}
        >
            {confirmLabel || `Confirm: ${label}`}
        </button>
    );
}

export const ORDER_FLOW = ['pending_payment', 'paid', 'shipped', 'delivered', 'completed'];

/** The order's status timeline: the usual path, with the times it reached each step. */
export function Timeline({ order }) {
    const hist = Array.isArray(order.history) ? order.history : [];
    const at = {};
    for (const h of hist) if (h && h.status && !at[h.status]) at[h.status] = h.at;
    if (!at.pending_payment && order.created_at) at.pending_payment = order.created_at;
    if (!at.paid && order.paid_at) at.paid = order.paid_at;
    const terminal = ['cancelled', 'expired', 'refunded'].includes(order.status) ? order.status : null;
    const reached = ORDER_FLOW.indexOf(order.status);
    let steps = ORDER_FLOW.map((s, i) => ({
        status: s,
        at: at[s],
        done: !!at[s] || (reached >= 0 && i <= reached),
    }));
    if (terminal) {
        steps = steps.filter((s) => s.done);
        steps.push({ status: terminal, at: at[terminal], done: true, terminal: true });
    }
    return (
        <ol class="timeline" aria-label="Order status timeline">
            {steps.map((s) => (
                <li key={s.status} class={`${s.done ? 'done' : 'todo'}${s.terminal ? ' terminal' : ''}${s.status === order.status ? ' current' : ''}`}>
                    <span class="dot" aria-hidden="true" />
                    <span class="tl-label">{statusLabel(s.status)}</span>
                    <span class="tl-time">{s.at ? formatTime(s.at) : s.done ? '' : 'not yet'}</span>
                    {s.status === order.status && <span class="sr-only"> (current status)</span>}
                </li>
            ))}
        </ol>
    );
}

/** A table for answers whose exact shape is not fixed yet (exposure report and the like). */
export function GenericTable({ rows, caption }) {
    if (!rows || !rows.length) return null;
    const cols = [];
    for (const r of rows.slice(0, 50)) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
    return (
        <div class="table-wrap">
            <table>
                {caption && <caption>{caption}</caption>}
                <thead>
                    <tr>
                        {cols.map((c) => (
                            <th key={c} scope="col">
                                {humanField(c)}
                            </th>
                        ))}
                    </tr>
                </thead>
                <tbody>
                    {rows.map((r, i) => (
                        <tr key={i}>
                            {cols.map((c) => (
                                <td key={c}>{cellText(r[c])}</td>
                            ))}
                        </tr>
                    ))}
                </tbody>
            </table>
        </div>
    );
}

function cellText(v) {
    if (v == null) return '';
    if (typeof v === 'object') {
        if (Array.isArray(v)) return v.map(cellText).join(', ');
        return Object.entries(v)
            .map(([k, x]) => `${k}: ${cellText(x)}`)
            .join('; ');
    }
    return String(v);
}
