// souk's web app: storefront at /, merchant console at /merchant/..., operator console at
// /admin/... — one bundle, path routes, talking to souk's HTTP API under /api/v1.
import '@fontsource/noto-sans-sc/400.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { loadMe, signOut } from './lib/auth.js';
import { Link, navigate, pickRoute, useLocation } from './lib/router.jsx';
import { cartState, session, toasts, useStore } from './lib/store.js';
import { SearchBox } from './components/search-box.jsx';
import { Empty, Page } from './components/ui.jsx';
import { Home } from './pages/shop/home.jsx';
import { Category, Search, Shop } from './pages/shop/browse.jsx';
import { Product } from './pages/shop/product.jsx';
import { Cart, Checkout, Pay } from './pages/shop/cart.jsx';
import { Order, Orders } from './pages/shop/orders.jsx';
import { RequireUser, SignIn, SignUp } from './pages/shop/auth.jsx';
import { LiveList, LiveRoom } from './pages/shop/live.jsx';
import { ConsoleFrame, MerchantHome, Onboarding } from './pages/merchant/layout.jsx';
import { ProductEdit, ProductList, ProductNew, Stock } from './pages/merchant/products.jsx';
import { MerchantOrders } from './pages/merchant/orders.jsx';
import { LiveControl, LiveRooms } from './pages/merchant/live.jsx';
import { Ledger, MerchantFigures, Overview } from './pages/merchant/money.jsx';
import { AdminCategories, AdminExposure, AdminFigures, AdminFrame, AdminMerchants, AdminPrograms } from './pages/admin/admin.jsx';

const user = (C) => (params) => (
    <RequireUser>
        <C params={params} />
    </RequireUser>
);
const merchantPage = (C) => (params) => (
    <RequireUser>
        <ConsoleFrame mid={params.mid}>{(m) => <C merchant={m} params={params} />}</ConsoleFrame>
    </RequireUser>
);
const adminPage = (C) => (params) => (
    <RequireUser role="operator">
        <AdminFrame>
            <C params={params} />
        </AdminFrame>
    </RequireUser>
);
const plain = (C) => (params) => <C params={params} />;

const ROUTES = [
    ['/', plain(Home)],
    ['/search', plain(Search)],
    ['/category/:id', plain(Category)],
    ['/product/:id', plain(Product)],
    ['/shop/:id', plain(Shop)],
    ['/live', plain(LiveList)],
    ['/live/:id', plain(LiveRoom)],
    ['/signin', plain(SignIn)],
    ['/signup', plain(SignUp)],
    ['/cart', user(Cart)],
    ['/checkout', user(Checkout)],
    ['/pay/:id', user(Pay)],
    ['/orders', user(Orders)],
    ['/orders/:id', user(Order)],
    ['/merchant', user(MerchantHome)],
    ['/merchant/new', user(() => <Onboarding title="Open another shop" />)],
    ['/merchant/:mid', merchantPage(Overview)],
    ['/merchant/:mid/products', merchantPage(ProductList)],
    ['/merchant/:mid/products/new', merchantPage(ProductNew)],
    ['/merchant/:mid/products/:pid', merchantPage(ProductEdit)],
    ['/merchant/:mid/stock', merchantPage(Stock)],
    ['/merchant/:mid/orders', merchantPage(MerchantOrders)],
    ['/merchant/:mid/live', merchantPage(LiveRooms)],
    ['/merchant/:mid/live/:rid', merchantPage(LiveControl)],
    ['/merchant/:mid/ledger', merchantPage(Ledger)],
    ['/merchant/:mid/figures', merchantPage(MerchantFigures)],
    ['/admin', adminPage(AdminMerchants)],
    ['/admin/merchants', adminPage(AdminMerchants)],
    ['/admin/categories', adminPage(AdminCategories)],
    ['/admin/programs', adminPage(AdminPrograms)],
    ['/admin/figures', adminPage(AdminFigures)],
    ['/admin/exposure', adminPage(AdminExposure)],
];

function NotFound() {
    return (
        <Page title="Page not found">
            <Empty title="There is nothing at this address">
                <Link href="/">Back to the shop</Link>
            </Empty>
        </Page>
    );
}

function Account() {
    const { user: u, loaded } = useStore(session);
    const loc = useLocation();
    if (!loaded) return null;
    if (!u)
        return (
            <Link class="btn btn-small" href={`/signin?next=${encodeURIComponent(loc.path + loc.search)}`}>
                Sign in
            </Link>
        );
    return (
        <span class="account">
            <span class="account-name" title={u.email}>
                {u.name || u.email}
            </span>
            <button
                type="button"
                class="btn btn-small btn-link"
                onClick={() => {
                    signOut();
                    navigate('/');
                }}
            >
                Sign out
            </button>
        </span>
    );
}

function Header({ area }) {
    const { count } = useStore(cartState);
    const { user: u } = useStore(session);
    return (
        <header class={`top top-${area}`}>
            <div class="top-inner">
                <Link href="/" class="brand" aria-label="souk home">
                    souk <span lang="zh">市集</span>
                </Link>
                {area === 'shop' ? (
                    <SearchBox />
                ) : (
                    <span class="area-name">{area === 'admin' ? 'Operator console' : 'Merchant console'}</span>
                )}
                <nav class="top-nav" aria-label="Main">
                    {area === 'shop' ? (
                        <>
                            <Link href="/live">Live</Link>
                            <Link href="/orders">Orders</Link>
                            <Link href="/cart" aria-label={`Cart, ${count} item${count === 1 ? '' : 's'}`}>
                                Cart{count > 0 && <span class="count" aria-hidden="true">{count}</span>}
                            </Link>
                            <Link href="/merchant">Sell</Link>
                        </>
                    ) : (
                        <Link href="/">Storefront</Link>
                    )}
                    {u && u.role === 'operator' && area !== 'admin' && <Link href="/admin/merchants">Operator</Link>}
                    {u && area === 'admin' && (u.merchants || []).length > 0 && <Link href="/merchant">Merchant</Link>}
                    <Account />
                </nav>
            </div>
        </header>
    );
}

function Toasts() {
    const { list } = useStore(toasts);
    return (
        <div class="toasts" role="status" aria-live="polite" aria-atomic="false">
            {list.map((t) => (
                <div key={t.id} class={`toast toast-${t.kind}`}>
                    {t.text}
                </div>
            ))}
        </div>
    );
}

function App() {
    const loc = useLocation();
    const main = useRef(null);
    const first = useRef(true);
    const route = pickRoute(ROUTES, loc.path.replace(/\/+$/, '') || '/');
    const area = loc.path.startsWith('/merchant') ? 'merchant' : loc.path.startsWith('/admin') ? 'admin' : 'shop';

    useEffect(() => {
        loadMe();
    }, []);

    // After in-app navigation, move focus to the new page's heading so screen readers
    // announce it (the first load keeps the browser's default focus).
    useEffect(() => {
        if (first.current) {
            first.current = false;
            return undefined;
        }
        const t = setTimeout(() => {
            const h = main.current && main.current.querySelector('h1');
            if (h && !main.current.contains(document.activeElement)) h.focus({ preventScroll: true });
        }, 50);
        return () => clearTimeout(t);
    }, [loc.path]);

    return (
        <>
            <a class="skip" href="#main">
                Skip to content
            </a>
            <Header area={area} />
            <main id="main" ref={main} class={`main main-${area}`}>
                {route ? route.C(route.params) : <NotFound />}
            </main>
            <Toasts />
        </>
    );
}

render(<App />, document.getElementById('app'));
