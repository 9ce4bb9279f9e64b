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

/** Expand the first `[begin:end(:step)]` range, recursively for the rest. */
export function expandHostRanges(name: string): string[] {
  const open = name.indexOf('[');
  if (open === -1) return [name];
  const close = name.indexOf(']', open);
  if (close === -1) throw new HostEntryError(`unclosed '[' in host range '${name}'`);
  const head = name.slice(0, open);
  const tail = name.slice(close + 1);
  const bounds = name.slice(open + 1, close).split(':');
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

  let items: string[];
  if (begin.length === 1 && end.length === 1 && LETTERS.includes(begin) && LETTERS.includes(end)) {
    const from = LETTERS.indexOf(begin);
    const to = LETTERS.indexOf(end);
    if (from > to) throw new HostEntryError(`host range '[${begin}:${end}]' in '${name}' must have begin <= end`);
    items = [];
    for (let i = from; i <= to; i += step) items.push(LETTERS[i]!);
  } else {
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
    items = [];
    for (let i = from; i <= to; i += step) items.push(String(i).padStart(width, '0'));
  }
  return items.flatMap((item) => expandHostRanges(head + item + tail));
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
