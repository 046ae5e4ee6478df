// Small global stores (session, cart badge, toasts) and the hook that re-renders on change.
// No dependency on api.js so that api.js can use it without an import cycle.
import { useEffect, useState } from 'preact/hooks';

export function createStore(initial) {
    let state = initial;
    const subs = new Set();
    return {
        get: () => state,
        set(patch) {
            state = typeof patch === 'function' ? patch(state) : { ...state, ...patch };
            for (const f of subs) f(state);
        },
        subscribe(f) {
            subs.add(f);
            return () => subs.delete(f);
        },
    };
}

export function useStore(store) {
    const [state, setState] = useState(store.get());
    useEffect(() => {
        setState(store.get());
        return store.subscribe(setState);
    }, [store]);
    return state;
}

// ---- bearer token: localStorage, so a session survives a reload ----
const TOKEN_KEY = 'souk.token';

export function getToken() {
    try {
        return localStorage.getItem(TOKEN_KEY);
    } catch {
        return null;
    }
}

export function setToken(token) {
    try {
        if (token) localStorage.setItem(TOKEN_KEY, token);
        else localStorage.removeItem(TOKEN_KEY);
    } catch {
        /* storage blocked: the session lasts as long as the tab */
    }
}

/** user: GET /me answer or null; loaded: /me has answered (or there is no token). */
export const session = createStore({ user: null, loaded: !getToken() });

export function signOutLocal() {
    setToken(null);
    session.set({ user: null, loaded: true });
    cartState.set({ count: 0 });
}

// ---- cart badge ----
export const cartState = createStore({ count: 0 });

// ---- toasts (announced through an aria-live region) ----
export const toasts = createStore({ list: [] });
let toastSeq = 0;

/** Shows a short message; kind: 'info' | 'ok' | 'error'. */
export function toast(text, kind = 'info', ms = 3500) {
    const id = ++toastSeq;
    toasts.set((s) => ({ list: [...s.list.slice(-2), { id, text, kind }] }));
    setTimeout(() => toasts.set((s) => ({ list: s.list.filter((t) => t.id !== id) })), ms);
}
