// A small path router over the History API: souk falls back to index.html for any path that
// is not a file, so /product/12 and /merchant/3/orders load the app directly.
import { useEffect, useState } from 'preact/hooks';

const subs = new Set();
const emit = () => subs.forEach((f) => f());
if (typeof window !== 'undefined') window.addEventListener('popstate', emit);

export function navigate(to, { replace = false } = {}) {
    if (to === location.pathname + location.search) {
        if (replace) return;
    }
    history[replace ? 'replaceState' : 'pushState'](null, '', to);
    emit();
    window.scrollTo(0, 0);
}

/** The current {path, query}; re-renders on navigation. */
export function useLocation() {
    const [, tick] = useState(0);
    useEffect(() => {
        const f = () => tick((x) => x + 1);
        subs.add(f);
        return () => subs.delete(f);
    }, []);
    return { path: location.pathname, query: new URLSearchParams(location.search), search: location.search };
}

/** "/product/:id" against "/product/12" → {id: "12"}, or null. */
export function matchPath(pattern, path) {
    const p = pattern.split('/').filter(Boolean);
    const s = path.split('/').filter(Boolean);
    if (p.length !== s.length) return null;
    const params = {};
    for (let i = 0; i < p.length; i++) {
        if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i]);
        else if (p[i] !== s[i]) return null;
    }
    return params;
}

/** Picks the first route whose pattern matches; routes: [[pattern, Component], ...]. */
export function pickRoute(routes, path) {
    for (const [pattern, C] of routes) {
        const params = matchPath(pattern, path);
        if (params) return { C, params, pattern };
    }
    return null;
}

/** An <a> that navigates in-app on a plain click and behaves normally otherwise. */
export function Link({ href, onClick, children, ...rest }) {
    const click = (e) => {
        if (onClick) onClick(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
            return;
        if (rest.target && rest.target !== '_self') return;
        e.preventDefault();
        navigate(href);
    };
    const current = typeof location !== 'undefined' && location.pathname === href ? 'page' : undefined;
    return (
        <a href={href} onClick={click} aria-current={current} {...rest}>
            {children}
        </a>
    );
}
