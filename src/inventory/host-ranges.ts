/**
 * Host entries as inventories write them: `web1`, `web1:2222`, `node[01:10]`,
 * `node[01:10:2]`, `db-[a:f]`, `rack[1:2]-node[1:3]`, `[2001:db8::1]:22`, `::1`.
 * Same rules as Ansible's `parse_address` and `expand_hostname_range`.
 */

/** A malformed host entry; the caller attaches the source position. */
export class HostEntryError extends Error {}

export interface HostEntry {
  names: string[];
  port?: number;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Hosts one entry may expand to. Ansible has no limit and `host[1:100000000]` takes it
 * minutes and gigabytes; a real inventory stays far below this.
 */
export const HOST_RANGE_LIMIT = 100_000;

/** The items of one `[begin:end(:step)]` range (the text between the brackets). */
function rangeItems(name: string, inner: string): string[] {
  const bounds = inner.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) {
    throw new HostEntryError(`host range '[${bounds.join(':')}]' in '${name}' must be [begin:end] or [begin:end:step]`);
  }
  const begin = bounds[0] || '0';
  const end = bounds[1]!;
  const stepText = bounds[2] ?? '1';
  if (!end) throw new HostEntryError(`host range in '${name}' has no end value`);
  if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
    throw new HostEntryError(`host range step '${stepText}' in '${name}' must be a positive number`);
  }
  const step = Number(stepText);
  const tooMany = (count: number) =>
    new HostEntryError(`host range '[${inner}]' in '${name}' gives ${count} hosts, more than the limit of ${HOST_RANGE_LIMIT}`);

  const items: string[] = [];
  if (begin.length === 1 && end.length === 1 && LETTERS.includes(begin) && LETTERS.includes(end)) {
    const from = LETTERS.indexOf(begin);
    const to = LETTERS.indexOf(end);
    if (from > to) throw new HostEntryError(`host range '[${begin}:${end}]' in '${name}' must have begin <= end`);
    for (let i = from; i <= to; i += step) items.push(LETTERS[i]!);
    return items;
  }
  if (!/^\d+$/.test(begin) || !/^\d+$/.test(end)) {
    throw new HostEntryError(`host range '[${begin}:${end}]' in '${name}' must be numbers or single letters`);
  }
  // A leading zero asks for zero-padding, which only makes sense with equal widths.
  const width = begin.length > 1 && begin.startsWith('0') ? begin.length : 0;
  if (width && end.length !== width) {
    throw new HostEntryError(`host range '[${begin}:${end}]' in '${name}' must have begin and end of equal width`);
  }
  const from = Number(begin);
  const to = Number(end);
  if (from > to) throw new HostEntryError(`host range '[${begin}:${end}]' in '${name}' must have begin <= end`);
  const count = Math.floor((to - from) / step) + 1;
  if (count > HOST_RANGE_LIMIT) throw tooMany(count);
  for (let i = from; i <= to; i += step) items.push(String(i).padStart(width, '0'));
  return items;
}

/**
 * Expand every `[begin:end(:step)]` range, leftmost outermost, as Ansible's recursive
 * expansion orders them; done with loops, so a name with thousands of ranges cannot
 * exhaust the stack, and the total is checked before anything is built.
 */
export function expandHostRanges(name: string): string[] {
  const literals: string[] = [];
  const ranges: string[][] = [];
  let rest = name;
  let total = 1;
  for (let open = rest.indexOf('['); open !== -1; open = rest.indexOf('[')) {
    const close = rest.indexOf(']', open);
    if (close === -1) throw new HostEntryError(`unclosed '[' in host range '${name}'`);
    const inner = rest.slice(open + 1, close);
    const items = rangeItems(name, inner);
    total *= items.length;
    if (total > HOST_RANGE_LIMIT) {
      throw new HostEntryError(`host ranges in '${name}' give more than ${HOST_RANGE_LIMIT} hosts, the limit for one entry`);
    }
    literals.push(rest.slice(0, open));
    ranges.push(items);
    rest = rest.slice(close + 1);
  }
  let names = [''];
  ranges.forEach((items, index) => {
    names = names.flatMap((prefix) => items.map((item) => prefix + literals[index] + item));
  });
  return names.map((prefix) => prefix + rest);
}

/** Colons outside `[...]` ranges. */
function colonsOutsideBrackets(text: string): number[] {
  const found: number[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '[') depth += 1;
    else if (text[i] === ']') depth = Math.max(0, depth - 1);
    else if (text[i] === ':' && depth === 0) found.push(i);
  }
  return found;
}

const IPV6 = /^[0-9a-fA-F:.]+(%\w+)?$/;

function toPort(text: string, entry: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new HostEntryError(`port '${text}' in '${entry}' must be a number from 1 to 65535`);
  }
  return port;
}

/** Parse one host entry into host names (ranges expanded) and an optional port. */
export function parseHostEntry(entry: string): HostEntry {
  if (!entry) throw new HostEntryError('empty host name');
  if (entry.trim() === '---') {
    throw new HostEntryError(`invalid host '---', which is normally a sign that this is a YAML file`);
  }
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
  if (bracketed && bracketed[1]!.includes(':') && IPV6.test(bracketed[1]!) && colonsOutsideBrackets(bracketed[1]!).length > 1) {
    // [2001:db8::1]:22: an IPv6 address with a port.
    return { names: [bracketed[1]!], port: bracketed[2] !== undefined ? toPort(bracketed[2], entry) : undefined };
  }
  const colons = colonsOutsideBrackets(entry);
  if (colons.length > 1) {
    if (!IPV6.test(entry)) throw new HostEntryError(`'${entry}' is neither a host name, host:port nor an IPv6 address`);
    return { names: [entry] };
  }
  let name = entry;
  let port: number | undefined;
  if (colons.length === 1) {
    const at = colons[0]!;
    const portText = entry.slice(at + 1);
    if (!portText) {
      throw new HostEntryError(`host '${entry}' ends in ':', which is reserved to give a port (host:port)`);
    }
    name = entry.slice(0, at);
    port = toPort(portText, entry);
  }
  if (!name) throw new HostEntryError(`host entry '${entry}' has no host name`);
  return { names: expandHostRanges(name), port };
}
