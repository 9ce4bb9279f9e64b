/**
 * Host patterns, Ansible's language for `hosts:` and `--limit`:
 *
 *   all  *  web  web1  web*  ~web\d+  web[0]  web[1:3]    one term
 *   web:db  web,db      union
 *   web:&prod           intersection
 *   web:!web2           exclusion
 *
 * Terms combine as Ansible combines them: the unions first, then every intersection,
 * then every exclusion, whatever their written order (`!a:b` is `b:!a`). A pattern with
 * only intersections or exclusions starts from `all`. The result is in inventory order,
 * without duplicates; a pattern that matches nothing gives an empty list.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../input-error.js';
import { hostsOfGroup } from './membership.js';
import type { Inventory } from './types.js';

/** Split on `,`, else on `:` outside `[...]`; an IPv6 address stays whole. */
export function splitPattern(pattern: string): string[] {
  const terms: string[] = [];
  for (const piece of pattern.split(',')) {
    const trimmed = piece.trim();
    if (/^[0-9a-fA-F:.]+$/.test(trimmed) && (trimmed.match(/:/g) ?? []).length > 1) {
      terms.push(trimmed); // ::1, 2001:db8::5
      continue;
    }
    let depth = 0;
    let current = '';
    for (const ch of trimmed) {
      if (ch === '[') depth += 1;
      if (ch === ']') depth = Math.max(0, depth - 1);
      if (ch === ':' && depth === 0 && !current.startsWith('~')) {
        terms.push(current);
        current = '';
      } else current += ch;
    }
    terms.push(current);
  }
  return terms.map((term) => term.trim()).filter(Boolean);
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else if (ch === '[' && glob.indexOf(']', i + 2) !== -1) {
      const close = glob.indexOf(']', i + 2);
      let set = glob.slice(i + 1, close);
      if (set.startsWith('!')) set = `^${set.slice(1)}`;
      source += `[${set.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?:${source})$`, 's');
}

function matcherFor(term: string): RegExp {
  if (!term.startsWith('~')) return globToRegExp(term);
  try {
    // Python's re.match: anchored at the start only.
    return new RegExp(`^(?:${term.slice(1)})`);
  } catch (error) {
    throw new InputError(`invalid regular expression in host pattern '${term}': ${(error as Error).message}`);
  }
}

const SUBSCRIPT = /^(.+)\[(?:(-?\d+)|(\d+)[:-](\d*))\]$/;

/** One term without its `!`/`&` prefix: hosts of matching groups, or matching hosts. */
function matchTerm(inv: Inventory, term: string): string[] {
  if (inv.hosts.has(term)) return [term];
  const subscript = term.startsWith('~') ? null : SUBSCRIPT.exec(term);
  if (subscript) {
    const hosts = matchTerm(inv, subscript[1]!);
    if (subscript[2] !== undefined) {
      const index = Number(subscript[2]);
      const host = hosts.at(index);
      return host === undefined || index >= hosts.length ? [] : [host];
    }
    const start = Number(subscript[3]);
    const end = subscript[4] ? Number(subscript[4]) : hosts.length - 1;
    return hosts.slice(start, end + 1);
  }
  const matcher = matcherFor(term);
  const results: string[] = [];
  const groups = [...inv.groups.keys()].filter((name) => matcher.test(name));
  for (const group of groups) results.push(...hostsOfGroup(inv, group));
  // As Ansible: host names are tried when no group matched, or for wildcards and regexes.
  if (!groups.length || term.startsWith('~') || /[.?*[]/.test(term)) {
    for (const host of inv.hosts.keys()) if (matcher.test(host)) results.push(host);
  }
  return results;
}

/** The hosts a list of terms selects, in inventory order. */
function evaluate(inv: Inventory, terms: string[]): Set<string> {
  const unions = terms.filter((term) => !term.startsWith('!') && !term.startsWith('&'));
  const intersections = terms.filter((term) => term.startsWith('&')).map((term) => term.slice(1));
  const exclusions = terms.filter((term) => term.startsWith('!')).map((term) => term.slice(1));
  const selected = new Set<string>();
  for (const term of unions.length ? unions : ['all']) for (const host of matchTerm(inv, term)) selected.add(host);
  for (const term of intersections) {
    const other = new Set(matchTerm(inv, term));
    for (const host of selected) if (!other.has(host)) selected.delete(host);
  }
  for (const term of exclusions) for (const host of matchTerm(inv, term)) selected.delete(host);
  return selected;
}

/** `--limit` terms, with `@file` read as one pattern per line (a retry file, say). */
function limitTerms(limit: string): string[] {
  return splitPattern(limit).flatMap((term) => {
    if (!term.startsWith('@')) return [term];
    const file = term.slice(1);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new InputError(`cannot read limit file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    return text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .flatMap(splitPattern);
  });
}

export function selectHosts(inv: Inventory, pattern: string, limit?: string): string[] {
  let selected = evaluate(inv, splitPattern(pattern));
  if (limit !== undefined && limit.trim() !== '') {
    const terms = limitTerms(limit);
    // An empty limit file limits to nothing, not to everything.
    const allowed = terms.length ? evaluate(inv, terms) : new Set<string>();
    selected = new Set([...selected].filter((host) => allowed.has(host)));
  }
  return [...inv.hosts.keys()].filter((host) => selected.has(host));
}
