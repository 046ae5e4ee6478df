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

const FACET_LABELS = {
    category: 'Category',
    category_id: 'Category',
    kind: 'Merchant kind',
    merchant_kind: 'Merchant kind',
    merchant: 'Merchant',
    merchant_id: 'Merchant',
    price: 'Price',
    country: 'Origin',
    currency: 'Currency',
};

/** Facets in one shape: [{name, label, values: [{value, label, count}]}]. */
export function normalizeFacets(f) {
    if (!f) return [];
    const entries = Array.isArray(f)
        ? f.map((x) => [x.name || x.field || x.key, x.values || x.buckets || x.counts || []])
        : Object.entries(f);
    return entries
        .filter(([name]) => name)
        .map(([name, vals]) => {
            let values = [];
            if (Array.isArray(vals)) {
                values = vals.map((v) =>
                    v && typeof v === 'object'
                        ? {
                              value: String(v.value ?? v.id ?? v.key ?? v.name),
                              label: String(v.label ?? v.name ?? v.title ?? v.value ?? v.key ?? v.id),
                              count: v.count ?? v.n ?? v.doc_count ?? null,
                          }
                        : { value: String(v), label: String(v), count: null },
                );
            } else if (vals && typeof vals === 'object') {
                values = Object.entries(vals).map(([k, c]) => ({ value: k, label: k, count: c }));
            }
            return { name, label: FACET_LABELS[name] || name.replace(/_/g, ' '), values };
        })
        .filter((x) => x.values.length);
}

/** Runs a search; resolves {items: [product], facets, total, fallback}. */
export async function searchProducts(params, { signal } = {}) {
    try {
        const data = await get(`/search${qs(params)}`, { signal });
        const items = listItems(data).map((x) => (x && x.product ? { ...x.product, ...x, product: undefined } : x));
        return {
            items,
            facets: normalizeFacets(data && data.facets),
            total: data && (data.total ?? data.count),
            next_cursor: data && data.next_cursor,
            fallback: false,
        };
    } catch (e) {
        if (isMissingEndpoint(e)) return fallbackSearch(params);
        throw e;
    }
}
