// Merchant products: the list, the product + SKU editor (variants, wholesale tiers, MOQ),
// editing a listed product, and the stock table.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getAll, newIdempotencyKey, patch, post, put } from '../../lib/api.js';
import { CURRENCIES, currencyDigits, formatMoney, minorToDecimal, parseMoney, skuLabel } from '../../lib/format.js';
import { Link, navigate } from '../../lib/router.jsx';
import { toast } from '../../lib/store.js';
import { Async, Empty, ErrorBox, Field, LoadMore, Page, PriceRange, Select, StatusChip, TextArea, useAction, useApi, useList } from '../../components/ui.jsx';
import { categoryOptions } from './layout.jsx';

export function ProductList({ merchant }) {
    const list = useList(`/products?merchant_id=${merchant.id}&limit=50`);
    return (
        <Page
            title="Products"
            actions={
                <Link class="btn btn-primary" href={`/merchant/${merchant.id}/products/new`}>
                    New product
                </Link>
            }
        >
            <Async
                state={list}
                empty={
                    <Empty title="No products yet">
                        <Link href={`/merchant/${merchant.id}/products/new`}>List your first product</Link>
                    </Empty>
                }
            >
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">Product</th>
                                <th scope="col">SKUs</th>
                                <th scope="col">Price</th>
                                <th scope="col">Available</th>
                                <th scope="col">Status</th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.items.map((p) => (
                                <tr key={p.id}>
                                    <td>
                                        <Link href={`/merchant/${merchant.id}/products/${p.id}`}>{p.title}</Link>
                                    </td>
                                    <td>{(p.skus || []).length}</td>
                                    <td>
                                        <PriceRange skus={p.skus} />
                                    </td>
                                    <td>{(p.skus || []).reduce((a, s) => a + (Number(s.available) || 0), 0)}</td>
                                    <td>
                                        <StatusChip status={p.status || 'active'} />
                                    </td>
                                </tr>
                            ))}
                        </tbody>
                    </table>
                </div>
                <LoadMore list={list} />
            </Async>
        </Page>
    );
}

const newSku = (currency = 'CNY') => ({ code: '', attrs: '', price: '', currency, stock: '0', moq: '1', tiers: [] });

/** "color=red, size=M" → {color: "red", size: "M"} */
function parseAttrs(text) {
    const out = {};
    for (const part of String(text).split(/[,，;；]/)) {
        const [k, ...rest] = part.split(/[=:：]/);
        if (k && k.trim() && rest.length) out[k.trim()] = rest.join('=').trim();
    }
    return out;
}

function SkuEditor({ index, sku, onChange, onRemove, error, canRemove }) {
    const fe = (f) => error && error.fieldMessage(`skus[${index}].${f}`);
    const set = (k) => (v) => onChange({ ...sku, [k]: v });
    const n = index + 1;
    const step = currencyDigits(sku.currency) ? `0.${'0'.repeat(currencyDigits(sku.currency) - 1)}1` : '1';
    return (
        <fieldset class="sku-editor">
            <legend>SKU {n}</legend>
            <div class="field-row">
                <Field label={`SKU ${n} code`} required value={sku.code} onInput={set('code')} error={fe('code')} placeholder="e.g. RED-M" />
                <Field label={`SKU ${n} options`} value={sku.attrs} onInput={set('attrs')} error={fe('attrs')} hint="e.g. color=red, size=M" />
            </div>
            <div class="field-row">
                <Field label={`SKU ${n} price`} inputMode="decimal" required value={sku.price} onInput={set('price')} error={fe('price')} placeholder="19.90" step={step} />
                <Select label={`SKU ${n} currency`} value={sku.currency} onChange={set('currency')} options={CURRENCIES.map((c) => [c, c])} error={fe('currency')} />
                <Field label={`SKU ${n} stock`} type="number" min="0" step="1" required value={sku.stock} onInput={set('stock')} error={fe('stock')} />
                <Field label={`SKU ${n} minimum order`} type="number" min="1" step="1" value={sku.moq} onInput={set('moq')} error={fe('moq')} />
            </div>
            <div class="tiers-editor">
                <p class="h4">Wholesale tiers · 阶梯价</p>
                {sku.tiers.length === 0 && <p class="hint">No tiers: every quantity pays the price above.</p>}
                {sku.tiers.map((t, i) => (
                    <div class="field-row tier-row" key={i}>
                        <Field
                            label={`SKU ${n} tier ${i + 1} from quantity`}
                            type="number"
                            min="2"
                            step="1"
                            value={t.min_qty}
                            onInput={(v) => onChange({ ...sku, tiers: sku.tiers.map((x, j) => (j === i ? { ...x, min_qty: v } : x)) })}
                            error={fe(`price_tiers[${i}].min_qty`)}
                        />
                        <Field
                            label={`SKU ${n} tier ${i + 1} unit price`}
                            inputMode="decimal"
                            value={t.price}
                            onInput={(v) => onChange({ ...sku, tiers: sku.tiers.map((x, j) => (j === i ? { ...x, price: v } : x)) })}
                            error={fe(`price_tiers[${i}].price`)}
                        />
                        <button type="button" class="btn btn-small btn-link" aria-label={`Remove tier ${i + 1} of SKU ${n}`} onClick={() => onChange({ ...sku, tiers: sku.tiers.filter((_, j) => j !== i) })}>
                            Remove
                        </button>
                    </div>
                ))}
                <button
                    type="button"
                    class="btn btn-small"
                    onClick={() => {
                        const last = sku.tiers[sku.tiers.length - 1];
                        const from = last ? (Number(last.min_qty) || 1) * 2 : Math.max(2, (Number(sku.moq) || 1) * 2, 10);
                        onChange({ ...sku, tiers: [...sku.tiers, { min_qty: String(from), price: '' }] });
                    }}
                >
                    Add tier to SKU {n}
                </button>
            </div>
            {canRemove && (
                <button type="button" class="btn btn-small btn-link" onClick={onRemove}>
                    Remove SKU {n}
                </button>
            )}
        </fieldset>
    );
}

/** Form state → POST /products body; returns [body, localErrors]. */
function buildBody(merchant, f) {
    const errs = [];
    const skus = f.skus.map((s, i) => {
        const price = parseMoney(s.price, s.currency);
        if (price === null) errs.push({ field: `skus[${i}].price`, message: `Enter a price like 19.90 (at most ${currencyDigits(s.currency)} decimals).` });
        const out = { code: s.code.trim(), price, currency: s.currency, stock: Math.floor(Number(s.stock) || 0) };
        const attrs = parseAttrs(s.attrs);
        if (Object.keys(attrs).length) out.attrs = attrs;
        const moq = Math.floor(Number(s.moq) || 1);
        if (moq > 1) out.moq = moq;
        if (s.tiers.length) {
            out.price_tiers = s.tiers.map((t, j) => {
                const tp = parseMoney(t.price, s.currency);
                if (tp === null) errs.push({ field: `skus[${i}].price_tiers[${j}].price`, message: 'Enter the tier unit price.' });
                return { min_qty: Math.floor(Number(t.min_qty) || 0), price: tp };
            });
        }
        return out;
    });
    const body = { merchant_id: merchant.id, category_id: f.category_id, title: f.title.trim(), skus };
    if (f.description.trim()) body.description = f.description.trim();
    const attrs = parseAttrs(f.attributes);
    if (Object.keys(attrs).length) body.attributes = attrs;
    return [body, errs];
}

export function ProductNew({ merchant }) {
    const cats = useApi('/categories');
    const options = categoryOptions(cats.data);
    const [f, setF] = useState({ title: '', description: '', category_id: '', attributes: '', skus: [newSku()] });
    const [key] = useState(newIdempotencyKey);
    const [run, { busy, error, setError }] = useAction();
    useEffect(() => {
        if (!f.category_id && options.length) setF((x) => ({ ...x, category_id: options[0][0] }));
    }, [options.length]);
    const set = (k) => (v) => setF({ ...f, [k]: v });
    const submit = (e) => {
        e.preventDefault();
        const [body, errs] = buildBody(merchant, f);
        if (errs.length) {
            setError(new ApiError(422, { title: 'Please check the form', errors: errs }));
            return;
        }
        run(async () => {
            const p = await post('/products', body, { idempotencyKey: key });
            toast(`Listed “${p.title}”`, 'ok');
            navigate(`/merchant/${merchant.id}/products/${p.id}`, { replace: true });
        });
    };
    return (
        <Page title="New product · 发布商品">
            <form class="form" onSubmit={submit} aria-label="New product" noValidate>
                <Field label="Title" required maxLength={200} value={f.title} onInput={set('title')} error={error && error.fieldMessage('title')} />
                {options.length ? (
                    <Select label="Category" value={f.category_id} onChange={set('category_id')} options={options} error={error && error.fieldMessage('category_id')} />
                ) : (
                    <p class="hint">{cats.loading ? 'Loading categories…' : 'No categories exist yet: an operator must create the category tree first.'}</p>
                )}
                <TextArea label="Description" value={f.description} onInput={set('description')} error={error && error.fieldMessage('description')} />
                <Field label="Attributes" value={f.attributes} onInput={set('attributes')} hint="e.g. material=bamboo, origin=Zhejiang" error={error && error.fieldMessage('attributes')} />
                <h2>SKUs (variants)</h2>
                {f.skus.map((s, i) => (
                    <SkuEditor
                        key={i}
                        index={i}
                        sku={s}
                        error={error}
                        canRemove={f.skus.length > 1}
                        onChange={(v) => setF({ ...f, skus: f.skus.map((x, j) => (j === i ? v : x)) })}
                        onRemove={() => setF({ ...f, skus: f.skus.filter((_, j) => j !== i) })}
                    />
                ))}
                <button type="button" class="btn" onClick={() => setF({ ...f, skus: [...f.skus, newSku(f.skus[f.skus.length - 1].currency)] })}>
                    Add another SKU
                </button>
                <ErrorBox error={error} />
                <button class="btn btn-primary btn-block" type="submit" disabled={busy || !f.category_id}>
                    {busy ? 'Saving…' : 'List product'}
                </button>
            </form>
        </Page>
    );
}

function StockCell({ sku, onSaved }) {
    const [v, setV] = useState(String(sku.on_hand ?? ''));
    const [run, { busy, error }] = useAction();
    useEffect(() => setV(String(sku.on_hand ?? '')), [sku.on_hand]);
    const save = (e) => {
        e.preventDefault();
        run(async () => {
            const s = await put(`/skus/${sku.id}/stock`, { on_hand: Math.floor(Number(v) || 0) });
            toast(`Stock of ${sku.code} set to ${s.on_hand}`, 'ok');
            onSaved(s);
        });
    };
    return (
        <form class="stock-cell" onSubmit={save}>
            <Field label={`On hand for ${sku.code}`} type="number" min="0" step="1" value={v} onInput={setV} class="qty-field label-hidden" error={error && (error.detail || error.title)} />
            <button type="submit" class="btn btn-small" disabled={busy || v === String(sku.on_hand)}>
                Save
            </button>
        </form>
    );
}

const decimal = (minor, cur) => minorToDecimal(minor, currencyDigits(cur));

/** Reprice a listed SKU: price, wholesale tiers ("min qty: price" per line), MOQ. */
function PriceCell({ sku, onSaved }) {
    const init = () => ({
        price: decimal(sku.price, sku.currency),
        moq: String(sku.moq ?? 1),
        tiers: (sku.price_tiers || []).map((t) => `${t.min_qty}: ${decimal(t.price, sku.currency)}`).join('\n'),
    });
    const [f, setF] = useState(init);
    const [open, setOpen] = useState(false);
    const [run, { busy, error }] = useAction();
    useEffect(() => setF(init()), [sku.price, sku.moq, JSON.stringify(sku.price_tiers)]);
    const save = (e) => {
        e.preventDefault();
        run(async () => {
            const price = parseMoney(f.price, sku.currency);
            if (price === null) throw new ApiError(422, { title: 'Check the price', detail: `“${f.price}” is not an amount.` });
            const tiers = [];
            for (const line of f.tiers.split('\n').map((l) => l.trim()).filter(Boolean)) {
                const m = /^(\d+)\s*[:=]\s*(\S+)$/.exec(line);
                const tp = m ? parseMoney(m[2], sku.currency) : null;
                if (!m || tp === null)
                    throw new ApiError(422, { title: 'Check the tiers', detail: `Write each tier as “min qty: unit price”, e.g. “10: 8.50” (not “${line}”).` });
                tiers.push({ min_qty: Number(m[1]), price: tp });
            }
            const s = await patch(`/skus/${sku.id}`, { price, moq: Math.floor(Number(f.moq) || 1), price_tiers: tiers });
            toast(`${sku.code} repriced`, 'ok');
            setOpen(false);
            onSaved(s);
        });
    };
    return (
        <div>
            {formatMoney(sku.price, sku.currency)}
            {(sku.price_tiers || []).map((t) => (
                <div class="muted" key={t.min_qty}>
                    {t.min_qty}+ : {formatMoney(t.price, sku.currency)}
                </div>
            ))}
            {sku.moq > 1 && <div class="muted">MOQ {sku.moq}</div>}
            <details open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
                <summary>Reprice {sku.code}</summary>
                <form class="form" onSubmit={save} aria-label={`Reprice ${sku.code}`}>
                    <Field label={`Unit price (${sku.currency})`} value={f.price} onInput={(v) => setF({ ...f, price: v })} error={error && error.fieldMessage && error.fieldMessage('price')} />
                    <Field label="Minimum order quantity" type="number" min="1" step="1" value={f.moq} onInput={(v) => setF({ ...f, moq: v })} error={error && error.fieldMessage && error.fieldMessage('moq')} />
                    <TextArea label="Wholesale tiers, one per line: min qty: unit price" value={f.tiers} onInput={(v) => setF({ ...f, tiers: v })} rows={3} />
                    <ErrorBox error={error} />
                    <button type="submit" class="btn btn-small" disabled={busy}>{busy ? 'Saving…' : 'Save prices'}</button>
                </form>
            </details>
        </div>
    );
}

function SkuTable({ skus, onSaved, product }) {
    return (
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        {product && <th scope="col">Product</th>}
                        <th scope="col">SKU</th>
                        <th scope="col">Price · tiers · MOQ</th>
                        <th scope="col">On hand</th>
                        <th scope="col">Reserved</th>
                        <th scope="col">Available</th>
                        <th scope="col">Sold</th>
                    </tr>
                </thead>
                <tbody>
                    {skus.map((s) => (
                        <tr key={s.id}>
                            {product && <td>{s._product}</td>}
                            <td>
                                <strong>{s.code}</strong>
                                <div class="muted">{skuLabel(s) !== s.code ? skuLabel(s) : ''}</div>
                            </td>
                            <td>
                                <PriceCell sku={s} onSaved={onSaved} />
                            </td>
                            <td>
                                <StockCell sku={s} onSaved={onSaved} />
                            </td>
                            <td>{s.reserved ?? '—'}</td>
                            <td>{s.available ?? '—'}</td>
                            <td>{s.sold ?? '—'}</td>
                        </tr>
                    ))}
                </tbody>
            </table>
        </div>
    );
}

export function ProductEdit({ merchant, params }) {
    const state = useApi(`/products/${encodeURIComponent(params.pid)}`);
    const p = state.data;
    const [f, setF] = useState(null);
    const [run, { busy, error }] = useAction();
    useEffect(() => {
        if (p) setF({ title: p.title || '', description: p.description || '', status: p.status || 'active' });
    }, [p]);
    const save = (e) => {
        e.preventDefault();
        run(async () => {
            await patch(`/products/${p.id}`, { title: f.title.trim(), description: f.description, status: f.status });
            toast('Product saved', 'ok');
            state.reload();
        });
    };
    return (
        <Page title={p ? p.title : 'Product'} actions={p && <Link class="btn" href={`/product/${p.id}`}>View in store</Link>}>
            <Async state={state}>
                {p && f && (
                    <>
                        <form class="form" onSubmit={save} aria-label="Edit product">
                            <Field label="Title" value={f.title} onInput={(v) => setF({ ...f, title: v })} error={error && error.fieldMessage('title')} />
                            <TextArea label="Description" value={f.description} onInput={(v) => setF({ ...f, description: v })} error={error && error.fieldMessage('description')} />
                            <Select
                                label="Status"
                                value={f.status}
                                onChange={(v) => setF({ ...f, status: v })}
                                options={[
                                    ['active', 'Active (for sale)'],
                                    ['archived', 'Archived (hidden from shoppers)'],
                                ]}
                                error={error && error.fieldMessage('status')}
                            />
                            <ErrorBox error={error} />
                            <button class="btn btn-primary" type="submit" disabled={busy}>
                                {busy ? 'Saving…' : 'Save changes'}
                            </button>
                        </form>
                        <h2>SKUs and stock</h2>
                        <SkuTable skus={p.skus || []} onSaved={() => state.reload()} />
                    </>
                )}
            </Async>
        </Page>
    );
}

export function Stock({ merchant }) {
    const [state, setState] = useState({ loading: true, error: null, data: null });
    const [n, setN] = useState(0);
    useEffect(() => {
        getAll(`/products?merchant_id=${merchant.id}`, 1000).then(
            (products) => setState({ loading: false, error: null, data: products.flatMap((p) => (p.skus || []).map((s) => ({ ...s, _product: p.title }))) }),
            (error) => setState({ loading: false, error, data: null }),
        );
    }, [merchant.id, n]);
    const low = (state.data || []).filter((s) => Number(s.available) <= 5).length;
    return (
        <Page title="Stock · 库存">
            <Async state={{ ...state, reload: () => setN((x) => x + 1) }} empty={<Empty title="No SKUs yet" />}>
                {low > 0 && (
                    <p class="notice" role="status">
                        {low} SKU{low === 1 ? '' : 's'} with 5 or fewer units available.
                    </p>
                )}
                <SkuTable skus={state.data || []} product onSaved={() => setN((x) => x + 1)} />
            </Async>
        </Page>
    );
}
