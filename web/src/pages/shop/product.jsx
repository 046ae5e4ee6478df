// Product page: SKU picker, wholesale tiers and MOQ, the merchant's badge, add to cart.
import { useEffect, useState } from 'preact/hooks';
import { getToken, toast } from '../../lib/store.js';
import { post } from '../../lib/api.js';
import { refreshCart } from '../../lib/auth.js';
import { formatMoney, skuLabel, unitPriceFor } from '../../lib/format.js';
import { Link, navigate, useLocation } from '../../lib/router.jsx';
import { Async, ErrorBox, Field, KindBadge, Page, ProductArt, useAction, useApi, useMerchant } from '../../components/ui.jsx';

export function Product({ params }) {
    const state = useApi(`/products/${encodeURIComponent(params.id)}`);
    const p = state.data;
    return (
        <Page title={p ? p.title : 'Product'}>
            <Async state={state}>{p && <ProductView product={p} />}</Async>
        </Page>
    );
}

function ProductView({ product }) {
    const loc = useLocation();
    const skus = product.skus || [];
    const [skuId, setSkuId] = useState(() => {
        const first = skus.find((s) => (s.available ?? 1) > 0) || skus[0];
        return first ? String(first.id) : '';
    });
    const sku = skus.find((s) => String(s.id) === skuId) || skus[0];
    const moq = (sku && sku.moq) || 1;
    const [qty, setQty] = useState(String(moq));
    useEffect(() => setQty(String(moq)), [skuId]);
    const merchant = useMerchant(product.merchant_id, product.merchant);
    const [run, { busy, error }] = useAction();
    const [added, setAdded] = useState(false);

    const n = Math.max(0, Math.floor(Number(qty) || 0));
    const unit = sku ? unitPriceFor(sku, n || moq) : 0;
    const soldOut = sku && sku.available !== undefined && sku.available <= 0;

    const add = (e) => {
        e.preventDefault();
        if (!getToken()) {
            navigate(`/signin?next=${encodeURIComponent(loc.path)}`);
            return;
        }
        run(async () => {
            await post('/cart/items', { sku_id: sku.id, qty: n });
            refreshCart();
            setAdded(true);
            toast(`Added ${n} × ${product.title} to your cart`, 'ok');
        });
    };

    return (
        <div class="product">
            <ProductArt product={product} size="lg" />
            <div class="product-info">
                <p class="merchant-line">
                    Sold by{' '}
                    <Link href={`/shop/${product.merchant_id}`}>{merchant ? merchant.name : `merchant ${product.merchant_id}`}</Link>{' '}
                    {merchant && <KindBadge kind={merchant.kind} />}
                    {merchant && merchant.country && <span class="muted"> · ships from {merchant.country}</span>}
                </p>
                <p class="price-big" aria-live="polite">
                    {sku ? formatMoney(unit, sku.currency) : '—'}
                    {sku && n > 1 && <span class="muted"> each · {formatMoney(unit * n, sku.currency)} for {n}</span>}
                </p>
                {product.description && <p class="desc">{product.description}</p>}
                {product.attributes && typeof product.attributes === 'object' && Object.keys(product.attributes).length > 0 && (
                    <dl class="attrs">
                        {Object.entries(product.attributes).map(([k, v]) => (
                            <div key={k}>
                                <dt>{k}</dt>
                                <dd>{String(v)}</dd>
                            </div>
                        ))}
                    </dl>
                )}
                <form onSubmit={add} class="buy-form">
                    {skus.length > 1 && (
                        <fieldset class="sku-picker">
                            <legend>Choose an option</legend>
                            {skus.map((s) => (
                                <label key={s.id} class={`sku-option${String(s.id) === skuId ? ' selected' : ''}${s.available <= 0 ? ' out' : ''}`}>
                                    <input type="radio" name="sku" value={String(s.id)} checked={String(s.id) === skuId} onChange={() => setSkuId(String(s.id))} />
                                    <span>{skuLabel(s)}</span>
                                    <span class="muted">{formatMoney(s.price, s.currency)}</span>
                                    {s.available <= 0 && <span class="muted"> · sold out</span>}
                                </label>
                            ))}
                        </fieldset>
                    )}
                    {sku && sku.price_tiers && sku.price_tiers.length > 0 && (
                        <table class="tiers">
                            <caption>Wholesale prices · 批发价</caption>
                            <thead>
                                <tr>
                                    <th scope="col">Quantity</th>
                                    <th scope="col">Unit price</th>
                                </tr>
                            </thead>
                            <tbody>
                                <tr class={n < sku.price_tiers[0].min_qty ? 'current' : ''}>
                                    <td>
                                        {moq}–{sku.price_tiers[0].min_qty - 1}
                                    </td>
                                    <td>{formatMoney(sku.price, sku.currency)}</td>
                                </tr>
                                {sku.price_tiers.map((t, i) => {
                                    const next = sku.price_tiers[i + 1];
                                    const cur = n >= t.min_qty && (!next || n < next.min_qty);
                                    return (
                                        <tr key={t.min_qty} class={cur ? 'current' : ''}>
                                            <td>{next ? `${t.min_qty}–${next.min_qty - 1}` : `${t.min_qty}+`}</td>
                                            <td>{formatMoney(t.price, sku.currency)}</td>
                                        </tr>
                                    );
                                })}
                            </tbody>
                        </table>
                    )}
                    {sku && (
                        <p class="stock-line">
                            {soldOut ? <strong>Sold out</strong> : sku.available !== undefined ? `${sku.available} in stock` : ''}
                            {moq > 1 && <span class="moq"> · Minimum order {moq} · 起订量 {moq}</span>}
                        </p>
                    )}
                    <Field
                        label="Quantity"
                        type="number"
                        inputMode="numeric"
                        min={moq}
                        max={sku && sku.available > 0 ? sku.available : undefined}
                        step="1"
                        value={qty}
                        onInput={(v) => {
                            setQty(v);
                            setAdded(false);
                        }}
                        error={n > 0 && n < moq ? `The minimum order is ${moq}.` : error && error.fieldMessage('qty')}
                        class="qty-field"
                    />
                    <ErrorBox error={error} />
                    <div class="actions">
                        <button class="btn btn-primary" type="submit" disabled={busy || !sku || soldOut || n < moq}>
                            {busy ? 'Adding…' : 'Add to cart'}
                        </button>
                        {added && (
                            <Link class="btn" href="/cart">
                                Go to cart
                            </Link>
                        )}
                    </div>
                </form>
            </div>
        </div>
    );
}
