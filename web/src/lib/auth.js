// Session actions: who is signed in (GET /me), sign-in, sign-up, sign-out, the cart badge.
import { get, post, listItems } from './api.js';
import { cartState, getToken, session, setToken, signOutLocal } from './store.js';

export async function loadMe() {
    if (!getToken()) {
        session.set({ user: null, loaded: true });
        return null;
    }
    try {
        const me = await get('/me');
        session.set({ user: me, loaded: true });
        refreshCart();
        return me;
    } catch (e) {
        // 401 already cleared the token in api(); other errors keep it for a later try.
        session.set({ user: null, loaded: true });
        return null;
    }
}

export async function signIn(email, password) {
    const r = await post('/auth/login', { email, password });
    setToken(r.token);
    return loadMe();
}

export async function signUp(name, email, password) {
    const r = await post('/auth/register', { name, email, password });
    setToken(r.token);
    return loadMe();
}

export function signOut() {
    signOutLocal();
}

export async function refreshCart() {
    if (!getToken()) return;
    try {
        const cart = await get('/cart');
        const n = listItems(cart).reduce((a, it) => a + (Number(it.qty) || 0), 0);
        cartState.set({ count: n });
    } catch {
        /* the badge is a hint; a failed refresh keeps the last number */
    }
}

export const isOperator = (user) => !!user && user.role === 'operator';
