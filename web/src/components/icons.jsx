// Inline SVG icons (the app ships no emoji: machines without an emoji font show boxes).
// All are decorative (aria-hidden); the text beside them carries the meaning.
const svg = (d, props) => (
    <svg class="icon" viewBox="0 0 24 24" width="1em" height="1em" aria-hidden="true" focusable="false" {...props}>
        {d}
    </svg>
);
const stroke = { fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' };

export const SearchIcon = () => svg(<><circle cx="11" cy="11" r="7" {...stroke} /><path d="M20 20l-4-4" {...stroke} /></>);
export const EyeIcon = () => svg(<><path d="M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z" {...stroke} /><circle cx="12" cy="12" r="3" {...stroke} /></>);
export const PinIcon = () => svg(<path d="M9 3h6l-1 6 3 3H7l3-3-1-6zM12 12v9" {...stroke} />);
export const EmptyIcon = () => svg(<><path d="M3 8l9-5 9 5v8l-9 5-9-5z" {...stroke} /><path d="M3 8l9 5 9-5M12 13v8" {...stroke} /></>);
