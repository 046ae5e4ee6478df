// The header's search box: search-as-you-type suggestions in an ARIA combobox.
// Arrow keys move through suggestions, Enter opens one (or runs the search), Escape closes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { navigate, useLocation } from '../lib/router.jsx';
import { searchProducts } from '../lib/search.js';
import { SearchIcon } from './icons.jsx';

export function SearchBox() {
    const loc = useLocation();
    const [q, setQ] = useState(loc.path === '/search' ? loc.query.get('q') || '' : '');
    const [items, setItems] = useState([]);
    const [open, setOpen] = useState(false);
    const [active, setActive] = useState(-1);
    const seq = useRef(0);
    const box = useRef(null);

    useEffect(() => {
        if (loc.path === '/search') setQ(loc.query.get('q') || '');
    }, [loc.path, loc.search]);

    useEffect(() => {
        const term = q.trim();
        if (!term) {
            setItems([]);
            return undefined;
        }
        const my = ++seq.current;
        const t = setTimeout(() => {
            searchProducts({ q: term, limit: 6 }).then(
                (r) => {
                    if (my !== seq.current) return;
                    setItems(r.items.slice(0, 6));
                    setActive(-1);
                },
                () => my === seq.current && setItems([]),
            );
        }, 180);
        return () => clearTimeout(t);
    }, [q]);

    useEffect(() => {
        const close = (e) => {
            if (box.current && !box.current.contains(e.target)) setOpen(false);
        };
        document.addEventListener('pointerdown', close);
        return () => document.removeEventListener('pointerdown', close);
    }, []);

    const go = (e) => {
        if (e) e.preventDefault();
        setOpen(false);
        if (active >= 0 && items[active]) {
            navigate(`/product/${items[active].id}`);
            return;
        }
        const term = q.trim();
        if (term) navigate(`/search?q=${encodeURIComponent(term)}`);
    };

    const onKey = (e) => {
        if (e.key === 'ArrowDown') {
            e.preventDefault();
            setOpen(true);
            setActive((a) => Math.min(items.length - 1, a + 1));
        } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(-1, a - 1));
        } else if (e.key === 'Escape' && open && items.length) {
            // Close the list first; a second Escape clears the box (the browser's default).
            e.preventDefault();
            setOpen(false);
            setActive(-1);
        }
    };

    const showList = open && q.trim() && items.length > 0;
    return (
        <form class="search-box" role="search" onSubmit={go} ref={box}>
            <label for="site-search" class="sr-only">
                Search products
            </label>
            <input
                id="site-search"
                type="search"
                role="combobox"
                autoComplete="off"
                placeholder="Search products · 搜索商品"
                value={q}
                aria-expanded={showList ? 'true' : 'false'}
                aria-controls="search-suggestions"
                aria-autocomplete="list"
                aria-activedescendant={showList && active >= 0 ? `sugg-${active}` : undefined}
                onInput={(e) => {
                    setQ(e.currentTarget.value);
                    setOpen(true);
                }}
                onFocus={() => setOpen(true)}
                onKeyDown={onKey}
            />
            <button type="submit" class="btn btn-primary" aria-label="Search">
                <SearchIcon />
            </button>
            <ul id="search-suggestions" role="listbox" aria-label="Suggestions" class="suggestions" hidden={!showList}>
                {items.map((p, i) => (
                    <li
                        key={p.id}
                        id={`sugg-${i}`}
                        role="option"
                        aria-selected={i === active ? 'true' : 'false'}
                        class={i === active ? 'active' : ''}
                        onPointerDown={(e) => {
                            e.preventDefault();
                            setOpen(false);
                            navigate(`/product/${p.id}`);
                        }}
                    >
                        {p.title}
                    </li>
                ))}
            </ul>
        </form>
    );
}
