// Product search. Uses GET /search (full-text, facets) when the server has it; when it answers
// 404 (not built yet) it falls back to matching titles over GET /products, so the search box
// still works on a server that only has the catalog.
import { get, getAll, isMissingEndpoint, listItems, qs } from './api.js';

let fallbackCache = null; // {at, products, categories, merchants}

async function fallbackData() {
    if (fallbackCache && Date.now() - fallbackCache.at < 20000) return fallbackCache;
    const [products, tree] = await Promise.all([getAll('/products', 1000), get('/categories').catch(() => [])]);
    const categories = new Map();
    const walk = (nodes) => {
        for (const n of listItems(nodes)) {
            categories.set(String(n.id), n.name);
            walk(n.children || []);
        }
    };
    walk(tree);
    const merchants = new Map();
    const ids = [...new Set(products.map((p) => String(p.merchant_id)))];
    await Promise.all(
        ids.map((id) =>
            get(`/merchants/${id}`).then(
                (m) => merchants.set(id, m),
                () => {},
            ),
        ),
    );
    fallbackCache = { at: Date.now(), products, categories, merchants };
    return fallbackCache;
}

function matches(p, terms) {
    const hay = `${p.title || ''} ${p.description || ''}`.toLowerCase();
    return terms.every((t) => hay.includes(t));
}

function countBy(list, key, label) {
    const m = new Map();
    for (const x of list) {
        const v = key(x);
        if (v == null || v === '') continue;
        const e = m.get(v) || { value: v, label: label(v), count: 0 };
        e.count++;
        m.set(v, e);
    }
    return [...m.values()].sort((a, b) => b.count - a.count);
}

async function fallbackSearch(params) {
    const { products, categories, merchants } = await fallbackData();
    const terms = String(params.q || '')
        .toLowerCase()
        .split(/\s+/)
        .filter(Boolean);
    let hits = products.filter((p) => matches(p, terms));
    const kindOf = (p) => (merchants.get(String(p.merchant_id)) || {}).kind;
    const facets = [
        { name: 'category_id', label: 'Category', values: countBy(hits, (p) => String(p.category_id), (v) => categories.get(v) || `Category ${v}`) },
        { name: 'kind', label: 'Merchant kind', values: countBy(hits, kindOf, (v) => v) },
        { name: 'merchant_id', label: 'Merchant', values: countBy(hits, (p) => String(p.merchant_id), (v) => (merchants.get(v) || {}).name || `Merchant ${v}`) },
    ];
    if (params.category_id) hits = hits.filter((p) => String(p.category_id) === String(params.category_id));
    if (params.kind) hits = hits.filter((p) => kindOf(p) === params.kind);
    if (params.merchant_id) hits = hits.filter((p) => String(p.merchant_id) === String(params.merchant_id));
    const limit = Number(params.limit) || 40;
    return { items: hits.slice(0, limit), facets, total: hits.length, fallback: true };
}

const money = (v) => (v / 100).toFixed(0);

/**
 * GET /search's facets, named after the query parameters that filter by them:
 * category → category_id, merchant_kind → merchant_kind, price buckets → price
 * ("min-max" in minor units, max exclusive; searchProducts turns it back).
 */
function serverFacets(f) {
    if (!f) return [];
    const out = [];
    if (Array.isArray(f.category) && f.category.length)
        out.push({ name: 'category_id', label: 'Category', values: f.category.map((c) => ({ value: String(c.id), label: c.name || `Category ${c.id}`, count: c.count })) });
    if (Array.isArray(f.merchant_kind) && f.merchant_kind.length)
        out.push({ name: 'merchant_kind', label: 'Merchant kind', values: f.merchant_kind.map((k) => ({ value: k.kind, label: k.kind, count: k.count })) });
    const prices = (f.price || []).filter((b) => b.count > 0);
    if (prices.length)
        out.push({
            name: 'price',
            label: 'Price',
            values: prices.map((b) => ({
                value: `${b.min ?? ''}-${b.max ?? ''}`,
                label: b.min == null ? `under ${money(b.max)}` : b.max == null ? `${money(b.min)} and up` : `${money(b.min)}–${money(b.max)}`,
                count: b.count,
            })),
        });
    return out;
}

/** Runs a search; resolves {items: [product], facets, total, fallback}. */
export async function searchProducts(params, { signal } = {}) {
    try {
        const p = { ...params };
        if (p.price) {
            const [min, max] = String(p.price).split('-');
            if (min) p.price_min = min;
            if (max) p.price_max = String(Number(max) - 1);
            delete p.price;
        }
        if (p.kind && !p.merchant_kind) p.merchant_kind = p.kind;
        delete p.kind;
        delete p.merchant_id; /* the index filters by merchant kind, not by one merchant */
        const data = await get(`/search${qs(p)}`, { signal });
        const items = listItems(data).map((x) => {
            const y = x && x.product ? { ...x.product, ...x, product: undefined } : { ...x };
            if (y.product_id && !y.id) y.id = y.product_id;
            /* a hit carries its lowest price, not the SKUs the cards read */
            if (!y.skus && y.price != null) y.skus = [{ price: y.price, currency: y.currency }];
            if (!y.merchant && y.merchant_name) y.merchant = { id: y.merchant_id, name: y.merchant_name, kind: y.merchant_kind };
            return y;
        });
        return {
            items,
            facets: serverFacets(data && data.facets),
            total: data && (data.total ?? data.count),
            next_cursor: data && data.next_cursor,
            fallback: false,
        };
    } catch (e) {
        if (isMissingEndpoint(e)) return fallbackSearch(params);
        throw e;
    }
}
