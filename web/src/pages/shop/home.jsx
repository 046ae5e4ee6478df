// Storefront home: the personal feed ("goods find people"), trending, categories, live rooms.
import { useEffect, useState } from 'preact/hooks';
import { get, isMissingEndpoint, listItems } from '../../lib/api.js';
import { Link } from '../../lib/router.jsx';
import { session, useStore } from '../../lib/store.js';
import { Async, Empty, Loading, Page, ProductGrid, useApi } from '../../components/ui.jsx';
import { statusLabel } from '../../lib/format.js';

/** Items of /feed and /trending may be products or {product_id, score}: resolve to products. */
function useProducts(state) {
    const [products, setProducts] = useState(null);
    useEffect(() => {
        const raw = listItems(state.data);
        if (!state.data) {
            setProducts(null);
            return;
        }
        let cancelled = false;
        Promise.all(
            raw.slice(0, 24).map((x) => {
                if (x && x.product && x.product.title) return Promise.resolve(x.product);
                if (x && x.title) return Promise.resolve(x);
                const id = x && (x.product_id || x.id);
                return id ? get(`/products/${id}`).catch(() => null) : Promise.resolve(null);
            }),
        ).then((list) => !cancelled && setProducts(list.filter(Boolean)));
        return () => {
            cancelled = true;
        };
    }, [state.data]);
    return products;
}

function ProductSection({ title, state, missing, emptyText }) {
    const products = useProducts(state);
    return (
        <section class="section" aria-labelledby={`h-${title}`}>
            <h2 id={`h-${title}`}>{title}</h2>
            <Async state={state} missing={missing}>
                {products === null ? (
                    <Loading />
                ) : products.length ? (
                    <ProductGrid products={products} label={title} />
                ) : (
                    <Empty title={emptyText} />
                )}
            </Async>
        </section>
    );
}

export function Home() {
    const { user } = useStore(session);
    const feed = useApi('/feed?limit=12');
    const trending = useApi('/trending?limit=8');
    const latest = useApi('/products?limit=12');
    const cats = useApi('/categories');
    const rooms = useApi('/live/rooms?status=live&limit=6');
    // No feed endpoint yet, or a feed only for signed-in shoppers: leave the section out.
    const feedMissing = isMissingEndpoint(feed.error) || (feed.error && (feed.error.status === 401 || feed.error.status === 403));
    const liveRooms = listItems(rooms.data).filter((r) => r.status !== 'ended');

    return (
        <Page title={user ? `Welcome back, ${user.name || ''}`.trim() : 'souk 市集 — shop from makers everywhere'}>
            {listItems(cats.data).length > 0 && (
                <nav class="chips-nav" aria-label="Categories">
                    {listItems(cats.data).map((c) => (
                        <Link key={c.id} class="chip-link" href={`/category/${c.id}`}>
                            {c.name}
                        </Link>
                    ))}
                </nav>
            )}
            {liveRooms.length > 0 && (
                <section class="section" aria-labelledby="h-live">
                    <h2 id="h-live">Live now</h2>
                    <ul class="room-list">
                        {liveRooms.map((r) => (
                            <li key={r.id} class="card">
                                <Link href={`/live/${r.id}`}>
                                    <span class={`live-dot ${r.status}`} aria-hidden="true" /> {r.title || `Room ${r.id}`}
                                </Link>{' '}
                                <span class="muted">{statusLabel(r.status)}</span>
                            </li>
                        ))}
                    </ul>
                </section>
            )}
            {!feedMissing && (
                <ProductSection
                    title={user ? 'For you · 为你推荐' : 'Picked for you · 为你推荐'}
                    state={feed}
                    emptyText="Your feed fills up as you browse."
                />
            )}
            <ProductSection
                title="Trending · 热门"
                state={trending}
                missing={<Empty title="Trending products will show here" />}
                emptyText="Nothing is trending yet."
            />
            <ProductSection
                title="New arrivals · 新品"
                state={latest}
                emptyText="No products yet. Merchants' products appear here once they are approved."
            />
        </Page>
    );
}
