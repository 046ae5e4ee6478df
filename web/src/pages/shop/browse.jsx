// Category browse, a merchant's shop page and search results with facets.
import { useEffect, useState } from 'preact/hooks';
import { listItems } from '../../lib/api.js';
import { kindLabel } from '../../lib/format.js';
import { Link, navigate, useLocation } from '../../lib/router.jsx';
import { searchProducts } from '../../lib/search.js';
import { Async, Empty, ErrorBox, KindBadge, LoadMore, Loading, Page, ProductGrid, useApi, useList } from '../../components/ui.jsx';

/** Finds a node and its ancestors in the category tree. */
function findPath(nodes, id, trail = []) {
    for (const n of nodes || []) {
        const here = [...trail, n];
        if (String(n.id) === String(id)) return here;
        const sub = findPath(n.children, id, here);
        if (sub) return sub;
    }
    return null;
}

export function Category({ params }) {
    const cats = useApi('/categories');
    const list = useList(`/products?category_id=${encodeURIComponent(params.id)}&limit=24`);
    const trail = findPath(listItems(cats.data), params.id) || [];
    const node = trail[trail.length - 1];
    return (
        <Page title={node ? node.name : 'Category'}>
            {trail.length > 1 && (
                <nav aria-label="Breadcrumb" class="crumbs">
                    <ol>
                        {trail.map((c) => (
                            <li key={c.id}>
                                <Link href={`/category/${c.id}`}>{c.name}</Link>
                            </li>
                        ))}
                    </ol>
                </nav>
            )}
            {node && node.children && node.children.length > 0 && (
                <nav class="chips-nav" aria-label="Sub-categories">
                    {node.children.map((c) => (
                        <Link key={c.id} class="chip-link" href={`/category/${c.id}`}>
                            {c.name}
                        </Link>
                    ))}
                </nav>
            )}
            <Async state={list} empty={<Empty title="No products in this category yet" />}>
                <ProductGrid products={list.items} label="Products" />
                <LoadMore list={list} />
            </Async>
        </Page>
    );
}

export function Shop({ params }) {
    const m = useApi(`/merchants/${encodeURIComponent(params.id)}`);
    const list = useList(`/products?merchant_id=${encodeURIComponent(params.id)}&limit=24`);
    const merchant = m.data;
    return (
        <Page title={merchant ? merchant.name : 'Shop'}>
            <Async state={m}>
                {merchant && (
                    <p class="shop-meta">
                        <KindBadge kind={merchant.kind} /> <span class="muted">Ships from {merchant.country}</span>
                        {merchant.description && <span class="shop-desc">{merchant.description}</span>}
                    </p>
                )}
            </Async>
            <Async state={list} empty={<Empty title="This shop has no products yet" />}>
                <ProductGrid products={list.items} label="Products" />
                <LoadMore list={list} />
            </Async>
        </Page>
    );
}

export function Search() {
    const loc = useLocation();
    const params = Object.fromEntries(loc.query.entries());
    const q = params.q || '';
    const [state, setState] = useState({ loading: true, error: null, result: null });

    useEffect(() => {
        const ac = new AbortController();
        setState((s) => ({ ...s, loading: true, error: null }));
        searchProducts({ ...params, limit: 40 }, { signal: ac.signal }).then(
            (result) => setState({ loading: false, error: null, result }),
            (error) => error.name !== 'AbortError' && setState({ loading: false, error, result: null }),
        );
        return () => ac.abort();
    }, [loc.search]);

    const setFacet = (name, value) => {
        const u = new URLSearchParams(loc.search);
        if (value === null || u.get(name) === value) u.delete(name);
        else u.set(name, value);
        navigate(`/search?${u.toString()}`, { replace: true });
    };

    const r = state.result;
    const facetKeys = Object.keys(params).filter((k) => k !== 'q' && k !== 'limit');
    return (
        <Page title={q ? `Results for “${q}”` : 'Search'} wide>
            <div class="search-layout">
                <aside class="facets" aria-label="Filters">
                    <h2 class="sr-only">Filters</h2>
                    {r &&
                        r.facets.map((f) => (
                            <fieldset key={f.name} class="facet">
                                <legend>{f.label}</legend>
                                {f.values.slice(0, 12).map((v) => {
                                    const checked = params[f.name] === v.value;
                                    const label = /kind/.test(f.name) ? kindLabel(v.label) : v.label;
                                    return (
                                        <label key={v.value} class="check">
                                            <input type="checkbox" checked={checked} onChange={() => setFacet(f.name, v.value)} />
                                            {label}
                                            {v.count != null && <span class="muted"> ({v.count})</span>}
                                        </label>
                                    );
                                })}
                            </fieldset>
                        ))}
                    {facetKeys.length > 0 && (
                        <button type="button" class="btn btn-small" onClick={() => navigate(`/search?q=${encodeURIComponent(q)}`, { replace: true })}>
                            Clear filters
                        </button>
                    )}
                </aside>
                <div class="results">
                    {state.error && <ErrorBox error={state.error} />}
                    {state.loading && !r && <Loading label="Searching…" />}
                    {r && (
                        <>
                            <p class="muted" role="status" aria-live="polite">
                                {r.items.length === 0 ? 'No products match.' : `${r.total ?? r.items.length} product${(r.total ?? r.items.length) === 1 ? '' : 's'} found.`}
                            </p>
                            {r.items.length === 0 ? (
                                <Empty title={q ? `Nothing found for “${q}”` : 'Type what you are looking for'}>
                                    Try fewer words, another spelling, or the Chinese name.
                                </Empty>
                            ) : (
                                <ProductGrid products={r.items} label="Search results" />
                            )}
                        </>
                    )}
                </div>
            </div>
        </Page>
    );
}
