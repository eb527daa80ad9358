/** Text for people: times, sizes, links that change one parameter. Pure, so every layer may use them. */

export function formatTime(iso: string | null | undefined): string {
  return iso ? `${iso.replace('T', ' ').slice(0, 19)} UTC` : '—';
}

/** Sizes in quota and snapshot messages, always in MiB so figures of one message compare at a glance. */
export function formatMib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The current URL's path and query with some parameters set or (null) removed. */
export function hrefWith(url: URL, changes: Record<string, string | null>): string {
  const params = new URLSearchParams(url.searchParams);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) params.delete(key);
    else params.set(key, value);
  }
  const query = params.toString();
  return query ? `${url.pathname}?${query}` : url.pathname;
}

/** A cell of a result table as text: NULL spelled out, blobs (base64 in the API) as a mark. */
export function formatCell(value: unknown): string {
  return value === null ? 'NULL' : typeof value === 'object' ? '(binary)' : String(value);
}
