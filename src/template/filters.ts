/**
 * Jinja and Ansible filters. Each gets the (already evaluated) value and arguments;
 * only `default`/`d` and `mandatory` see an undefined value, every other filter gets
 * a real one. Semantics follow Python/Ansible where users can see the difference.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import bcrypt from 'bcryptjs';
import { stringify as stringifyYaml } from 'yaml';
import { parseYaml } from '../yaml.js';
import { quote } from '../transport/quote.js';
import { EvaluationProblem, parseIp, pythonRegex, TESTS, UNDEFINED_AWARE_TESTS, type ParsedIp } from './jinja-tests.js';
import { deepEqual, isMapping, isUndefined, repr, setKey, toText, truthy, typeName, Undefined } from './values.js';

export type Filter = (value: unknown, args: unknown[], kwargs: Record<string, unknown>) => unknown;

/** Positional argument `index`, or keyword `name`, or the default. */
function arg<T>(args: unknown[], kwargs: Record<string, unknown>, index: number, name: string, fallback: T): unknown {
  if (args.length > index) return args[index];
  if (Object.hasOwn(kwargs, name)) return kwargs[name];
  return fallback;
}

function asList(value: unknown, filter: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (isMapping(value)) return Object.keys(value);
  throw new EvaluationProblem(`'${filter}' expects a list, got ${typeName(value)}`);
}

function asMapping(value: unknown, filter: string): Record<string, unknown> {
  if (isMapping(value)) return value;
  throw new EvaluationProblem(`'${filter}' expects a dict, got ${typeName(value)}`);
}

function asString(value: unknown): string {
  return toText(value);
}

/** Python json.dumps: `", "` and `": "` separators, or an indented form. */
function pythonJson(value: unknown, indent: number | undefined, sortKeys: boolean, depth = 0): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : value > 0 ? 'Infinity' : Number.isNaN(value) ? 'NaN' : '-Infinity';
  const pad = indent === undefined ? '' : '\n' + ' '.repeat(indent * (depth + 1));
  const close = indent === undefined ? '' : '\n' + ' '.repeat(indent * depth);
  const separator = indent === undefined ? ', ' : ',';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${value.map((item) => pad + pythonJson(item, indent, sortKeys, depth + 1)).join(separator)}${close}]`;
  }
  if (isMapping(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return '{}';
    if (sortKeys) keys.sort();
    return `{${keys.map((k) => `${pad}${JSON.stringify(k)}: ${pythonJson(value[k], indent, sortKeys, depth + 1)}`).join(separator)}${close}}`;
  }
  return JSON.stringify(String(value));
}

function toInteger(value: unknown, fallback: unknown, base: number): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return Math.trunc(value);
  if (typeof value === 'string') {
    const text = value.trim().replace(/_/g, '');
    const digits = base === 16 ? /^[-+]?(0x)?[0-9a-f]+$/i : base === 8 ? /^[-+]?(0o)?[0-7]+$/i : base === 2 ? /^[-+]?(0b)?[01]+$/i : /^[-+]?\d+$/;
    if (digits.test(text)) return parseInt(text.replace(/^([-+]?)0[xob]/i, '$1'), base);
    if (base === 10 && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) return Math.trunc(Number(text));
  }
  return fallback;
}

function toFloat(value: unknown, fallback: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(value)) return Number(value);
  return fallback;
}

/** Python's `\1` and `\g<name>` in a replacement, in JavaScript's `$1` / `$<name>` form. */
function pythonReplacement(replacement: string): string {
  return replacement
    .replace(/\$/g, '$$$$')
    .replace(/\\g<(\d+)>/g, '$$$1')
    .replace(/\\g<(\w+)>/g, '$$<$1>')
    .replace(/\\(\d+)/g, '$$$1');
}

function regexFlags(kwargs: Record<string, unknown>, extra = ''): string {
  return extra + (truthy(kwargs.ignorecase) ? 'i' : '') + (truthy(kwargs.multiline) ? 'm' : '');
}

function sortKey(value: unknown, attribute: unknown, caseSensitive: boolean): unknown {
  let key = value;
  if (attribute !== undefined && attribute !== null) key = isMapping(value) ? value[String(attribute)] : undefined;
  return typeof key === 'string' && !caseSensitive ? key.toLowerCase() : key;
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  throw new EvaluationProblem(`cannot order ${typeName(a)} and ${typeName(b)}`);
}

function combine(base: Record<string, unknown>, other: Record<string, unknown>, recursive: boolean, listMerge: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) setKey(result, key, value);
  for (const [key, value] of Object.entries(other)) {
    const current = result[key];
    if (recursive && isMapping(current) && isMapping(value)) {
      setKey(result, key, combine(current, value, true, listMerge));
    } else if (Array.isArray(current) && Array.isArray(value) && listMerge !== 'replace') {
      if (listMerge === 'append') setKey(result, key, [...current, ...value]);
      else if (listMerge === 'prepend') setKey(result, key, [...value, ...current]);
      else if (listMerge === 'append_rp') setKey(result, key, [...current.filter((x) => !value.some((y) => deepEqual(x, y))), ...value]);
      else if (listMerge === 'prepend_rp') setKey(result, key, [...value, ...current.filter((x) => !value.some((y) => deepEqual(x, y)))]);
      else if (listMerge === 'keep') setKey(result, key, current);
      else throw new EvaluationProblem(`unknown list_merge '${listMerge}' (use replace, keep, append, prepend, append_rp or prepend_rp)`);
    } else {
      setKey(result, key, value);
    }
  }
  return result;
}

function unique(items: unknown[]): unknown[] {
  const result: unknown[] = [];
  for (const item of items) if (!result.some((seen) => deepEqual(seen, item))) result.push(item);
  return result;
}

function attributeOf(item: unknown, attribute: string): unknown {
  let current = item;
  for (const part of attribute.split('.')) {
    if (isMapping(current) && Object.hasOwn(current, part)) current = current[part];
    else if (Array.isArray(current) && /^\d+$/.test(part)) current = current[Number(part)];
    else return new Undefined(attribute, `${typeName(current)} has no attribute '${part}'`);
  }
  return current;
}

function runTest(name: unknown, value: unknown, args: unknown[]): boolean {
  const test = TESTS[String(name)];
  if (!test) throw new EvaluationProblem(`unknown test '${String(name)}'`);
  if (isUndefined(value) && !UNDEFINED_AWARE_TESTS.has(String(name))) return false;
  return test(value, args, {});
}

/** `select('test', args)`, `selectattr('attr', 'test', args)` and their `reject` twins. */
function selecting(keep: boolean, byAttribute: boolean): Filter {
  return (value, args) => {
    const items = asList(value, byAttribute ? 'selectattr' : 'select');
    const [first, ...rest] = args;
    return items.filter((item) => {
      const subject = byAttribute ? attributeOf(item, String(first)) : item;
      const [testName, ...testArgs] = byAttribute ? rest : args;
      const passed = testName === undefined ? !isUndefined(subject) && truthy(subject) : runTest(testName, subject, testArgs);
      return passed === keep;
    });
  };
}

function formatPercent(format: string, values: unknown[]): string {
  let index = 0;
  return format.replace(/%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdirfx%])/g, (_m, flags: string, width: string, precision: string | undefined, kind: string) => {
    if (kind === '%') return '%';
    const value = values[index++];
    let text: string;
    if (kind === 'd' || kind === 'i') text = String(Math.trunc(Number(value)));
    else if (kind === 'f') text = Number(value).toFixed(precision === undefined ? 6 : Number(precision));
    else if (kind === 'x') text = Math.trunc(Number(value)).toString(16);
    else if (kind === 'r') text = repr(value);
    else text = toText(value);
    if (!width) return text;
    if (flags.includes('-')) return text.padEnd(Number(width));
    if (flags.includes('0') && kind !== 's' && kind !== 'r') {
      const sign = text.startsWith('-') ? '-' : '';
      return sign + text.slice(sign.length).padStart(Number(width) - sign.length, '0');
    }
    return text.padStart(Number(width));
  });
}

function hashOf(value: unknown, algorithm: string): string {
  try {
    return createHash(algorithm).update(asString(value)).digest('hex');
  } catch {
    throw new EvaluationProblem(`unknown hash algorithm '${algorithm}'`);
  }
}

const BCRYPT_SALT = /^[./A-Za-z0-9]{22}$/;

/**
 * Ansible's `password_hash`, bcrypt only (what htpasswd files take). A given `salt`
 * makes the hash repeatable, so a task that renders it reports no change on a re-run.
 */
function passwordHash(value: unknown, args: unknown[], kwargs: Record<string, unknown>): string {
  const scheme = String(arg(args, kwargs, 0, 'hashtype', 'sha512'));
  if (scheme !== 'bcrypt' && scheme !== 'blowfish') {
    throw new EvaluationProblem(`password_hash: hash type '${scheme}' is not supported (use 'bcrypt')`);
  }
  const salt = arg(args, kwargs, 1, 'salt', null);
  const rounds = Number(arg(args, kwargs, 3, 'rounds', 12) ?? 12);
  const ident = String(arg(args, kwargs, 4, 'ident', '2b') ?? '2b');
  if (!Number.isInteger(rounds) || rounds < 4 || rounds > 31)
    throw new EvaluationProblem(`password_hash: rounds must be an integer from 4 to 31, got ${String(rounds)}`);
  if (!['2a', '2b', '2y'].includes(ident)) throw new EvaluationProblem(`password_hash: ident must be 2a, 2b or 2y, got '${ident}'`);
  let setting: string;
  if (salt === null || salt === undefined) {
    setting = bcrypt.genSaltSync(rounds);
  } else {
    const text = asString(salt);
    if (!BCRYPT_SALT.test(text)) throw new EvaluationProblem('password_hash: a bcrypt salt is 22 characters of ./A-Za-z0-9');
    setting = `$2b$${String(rounds).padStart(2, '0')}$${text}`;
  }
  return bcrypt.hashSync(asString(value), setting).replace(/^\$2b\$/, `$${ident}$`);
}

/** One value for `ipaddr` and friends: what the query asks of it, or false. */
function ipQuery(value: unknown, query: string, version: 4 | 6 | undefined, filter: string): unknown {
  const parsed: ParsedIp | undefined = typeof value === 'string' || typeof value === 'number' ? parseIp(String(value)) : undefined;
  const usable = parsed !== undefined && (version === undefined || parsed.version === version);
  switch (query) {
    case '':
      return usable ? String(value).trim() : false;
    case 'bool':
      return usable;
    case 'address':
      // A host address, alone or with its prefix; a network's own address is not one.
      return usable && (parsed.prefix === undefined || parsed.prefix === parsed.bits || !parsed.isNetworkAddress) ? parsed.address : false;
    case 'version':
      return usable ? parsed.version : false;
    case 'prefix':
      return usable ? (parsed.prefix ?? parsed.bits) : false;
    default:
      throw new EvaluationProblem(`${filter}: query '${query}' is not supported (use '', 'address', 'bool', 'prefix' or 'version')`);
  }
}

function ipFilter(version: 4 | 6 | undefined, filter: string): Filter {
  return (value, args, kwargs) => {
    const query = asString(arg(args, kwargs, 0, 'query', '') ?? '');
    if (Array.isArray(value)) return value.map((item) => ipQuery(item, query, version, filter)).filter((item) => item !== false);
    return ipQuery(value, query, version, filter);
  };
}

export const FILTERS: Record<string, Filter> = {
  default: (value, args, kwargs) => {
    const fallback = arg(args, kwargs, 0, 'default_value', '');
    const orFalsy = truthy(arg(args, kwargs, 1, 'boolean', false));
    if (isUndefined(value) || (orFalsy && !truthy(value))) return fallback;
    return value;
  },
  mandatory: (value, args, kwargs) => {
    if (isUndefined(value)) {
      const message = arg(args, kwargs, 0, 'msg', undefined);
      throw new Undefined(value.name, value.reason, value.hint, message === undefined ? `Mandatory variable '${value.name}' not defined.` : String(message));
    }
    return value;
  },
  bool: (value) => {
    if (typeof value === 'boolean') return value;
    if (value === null || value === undefined) return false;
    return ['yes', 'on', '1', 'true', 'y', 't'].includes(toText(value).toLowerCase());
  },
  int: (value, args, kwargs) => toInteger(value, arg(args, kwargs, 0, 'default', 0), Number(arg(args, kwargs, 1, 'base', 10))),
  float: (value, args, kwargs) => toFloat(value, arg(args, kwargs, 0, 'default', 0)),
  string: (value) => asString(value),
  length: (value) => {
    if (typeof value === 'string' || Array.isArray(value)) return value.length;
    if (isMapping(value)) return Object.keys(value).length;
    throw new EvaluationProblem(`object of type '${typeName(value)}' has no length`);
  },
  lower: (value) => asString(value).toLowerCase(),
  upper: (value) => asString(value).toUpperCase(),
  capitalize: (value) => {
    const text = asString(value);
    return text.charAt(0).toUpperCase() + text.slice(1).toLowerCase();
  },
  title: (value) => asString(value).replace(/\w\S*/g, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()),
  trim: (value, args) => {
    const text = asString(value);
    if (args[0] === undefined) return text.trim();
    const chars = String(args[0]);
    let start = 0;
    let end = text.length;
    while (start < end && chars.includes(text[start]!)) start++;
    while (end > start && chars.includes(text[end - 1]!)) end--;
    return text.slice(start, end);
  },
  replace: (value, args, kwargs) => {
    const text = asString(value);
    const old = asString(arg(args, kwargs, 0, 'old', ''));
    const replacement = asString(arg(args, kwargs, 1, 'new', ''));
    const count = arg(args, kwargs, 2, 'count', undefined);
    if (count === undefined || count === null) return text.split(old).join(replacement);
    const parts = text.split(old);
    const limit = Number(count);
    return parts.slice(0, limit + 1).join(replacement) + (parts.length > limit + 1 ? old + parts.slice(limit + 1).join(old) : '');
  },
  regex_replace: (value, args, kwargs) => {
    const pattern = asString(arg(args, kwargs, 0, 'pattern', ''));
    const replacement = asString(arg(args, kwargs, 1, 'replacement', ''));
    const count = Number(arg(args, kwargs, 2, 'count', 0));
    let done = 0;
    const regex = pythonRegex(pattern, regexFlags(kwargs, 'g'));
    const jsReplacement = pythonReplacement(replacement);
    return asString(value).replace(regex, (...match) => {
      if (count > 0 && done >= count) return match[0] as string;
      done++;
      return (match[0] as string).replace(pythonRegex(pattern, regexFlags(kwargs)), jsReplacement);
    });
  },
  regex_search: (value, args, kwargs) => {
    const [pattern, ...groups] = args;
    const match = pythonRegex(asString(pattern), regexFlags(kwargs)).exec(asString(value));
    if (!match) return groups.length > 0 ? [] : null;
    if (groups.length === 0) return match[0];
    return groups.map((group) => {
      const text = String(group);
      const named = /^\\g<(\w+)>$/.exec(text);
      if (named) return /^\d+$/.test(named[1]!) ? (match[Number(named[1])] ?? null) : (match.groups?.[named[1]!] ?? null);
      const numbered = /^\\(\d+)$/.exec(text);
      if (numbered) return match[Number(numbered[1])] ?? null;
      throw new EvaluationProblem(`regex_search group '${text}' must look like '\\\\1' or '\\\\g<name>'`);
    });
  },
  regex_findall: (value, args, kwargs) => {
    const regex = pythonRegex(asString(arg(args, kwargs, 0, 'regex', '')), regexFlags(kwargs, 'g'));
    return [...asString(value).matchAll(regex)].map((m) => (m.length === 1 ? m[0] : m.length === 2 ? (m[1] ?? '') : m.slice(1).map((g) => g ?? '')));
  },
  regex_escape: (value) => asString(value).replace(/[.*+?^${}()|[\]\\\-/]/g, '\\$&'),
  join: (value, args, kwargs) =>
    asList(value, 'join')
      .map(asString)
      .join(asString(arg(args, kwargs, 0, 'd', ''))),
  split: (value, args, kwargs) => {
    const separator = arg(args, kwargs, 0, 'sep', null);
    const text = asString(value);
    if (separator === null || separator === undefined) return text.split(/\s+/).filter((part) => part !== '');
    return text.split(asString(separator));
  },
  first: (value) => {
    const items = asList(value, 'first');
    return items.length > 0 ? items[0] : new Undefined('first', 'the list is empty');
  },
  last: (value) => {
    const items = asList(value, 'last');
    return items.length > 0 ? items[items.length - 1] : new Undefined('last', 'the list is empty');
  },
  unique: (value) => unique(asList(value, 'unique')),
  sort: (value, args, kwargs) => {
    const reverse = truthy(arg(args, kwargs, 0, 'reverse', false));
    const caseSensitive = truthy(arg(args, kwargs, 1, 'case_sensitive', false));
    const attribute = arg(args, kwargs, 2, 'attribute', undefined);
    const sorted = [...asList(value, 'sort')].sort((a, b) => compareValues(sortKey(a, attribute, caseSensitive), sortKey(b, attribute, caseSensitive)));
    return reverse ? sorted.reverse() : sorted;
  },
  reverse: (value) => (typeof value === 'string' ? [...value].reverse().join('') : [...asList(value, 'reverse')].reverse()),
  list: (value) => [...asList(value, 'list')],
  min: (value) => [...asList(value, 'min')].sort(compareValues)[0] ?? new Undefined('min', 'the list is empty'),
  max: (value) => [...asList(value, 'max')].sort(compareValues).at(-1) ?? new Undefined('max', 'the list is empty'),
  sum: (value, args, kwargs) => asList(value, 'sum').reduce((total: number, item) => total + Number(item), Number(arg(args, kwargs, 1, 'start', 0))),
  flatten: (value, args, kwargs) => {
    const levels = arg(args, kwargs, 0, 'levels', null);
    const flat = (items: unknown[], depth: number): unknown[] =>
      items.flatMap((item) => (Array.isArray(item) && (levels === null || depth < Number(levels)) ? flat(item, depth + 1) : item === null ? [] : [item]));
    return flat(asList(value, 'flatten'), 0);
  },
  union: (value, [other]) => unique([...asList(value, 'union'), ...asList(other, 'union')]),
  intersect: (value, [other]) => unique(asList(value, 'intersect').filter((x) => asList(other, 'intersect').some((y) => deepEqual(x, y)))),
  difference: (value, [other]) => unique(asList(value, 'difference').filter((x) => !asList(other, 'difference').some((y) => deepEqual(x, y)))),
  symmetric_difference: (value, [other]) => {
    const a = asList(value, 'symmetric_difference');
    const b = asList(other, 'symmetric_difference');
    return unique([...a.filter((x) => !b.some((y) => deepEqual(x, y))), ...b.filter((x) => !a.some((y) => deepEqual(x, y)))]);
  },
  map: (value, args, kwargs) => {
    const items = asList(value, 'map');
    if (Object.hasOwn(kwargs, 'attribute')) {
      return items.map((item) => {
        const found = attributeOf(item, String(kwargs.attribute));
        return isUndefined(found) && Object.hasOwn(kwargs, 'default') ? kwargs.default : found;
      });
    }
    const [name, ...rest] = args;
    const filter = FILTERS[String(name)];
    if (!filter) throw new EvaluationProblem(`map: unknown filter '${String(name)}'`);
    return items.map((item) => filter(item, rest, {}));
  },
  select: selecting(true, false),
  reject: selecting(false, false),
  selectattr: selecting(true, true),
  rejectattr: selecting(false, true),
  dict2items: (value, args, kwargs) => {
    const keyName = String(arg(args, kwargs, 0, 'key_name', 'key'));
    const valueName = String(arg(args, kwargs, 1, 'value_name', 'value'));
    return Object.entries(asMapping(value, 'dict2items')).map(([k, v]) => {
      const item: Record<string, unknown> = {};
      setKey(item, keyName, k);
      setKey(item, valueName, v);
      return item;
    });
  },
  items2dict: (value, args, kwargs) => {
    const keyName = String(arg(args, kwargs, 0, 'key_name', 'key'));
    const valueName = String(arg(args, kwargs, 1, 'value_name', 'value'));
    const result: Record<string, unknown> = {};
    for (const item of asList(value, 'items2dict')) {
      const entry = asMapping(item, 'items2dict');
      if (!Object.hasOwn(entry, keyName)) throw new EvaluationProblem(`items2dict: an item has no '${keyName}' key`);
      setKey(result, toText(entry[keyName]), entry[valueName]);
    }
    return result;
  },
  combine: (value, args, kwargs) => {
    const recursive = truthy(kwargs.recursive);
    const listMerge = String(kwargs.list_merge ?? 'replace');
    const others = args.flatMap((other) => (Array.isArray(other) ? other : [other]));
    return others.reduce<Record<string, unknown>>((acc, other) => combine(acc, asMapping(other, 'combine'), recursive, listMerge), asMapping(value, 'combine'));
  },
  to_json: (value, _args, kwargs) => {
    const indent = kwargs.indent;
    return pythonJson(value, indent === undefined || indent === null ? undefined : Number(indent), truthy(kwargs.sort_keys));
  },
  to_nice_json: (value, args, kwargs) =>
    pythonJson(value, Number(arg(args, kwargs, 0, 'indent', 4)), kwargs.sort_keys === undefined ? true : truthy(kwargs.sort_keys)),
  to_yaml: (value, _args, kwargs) => stringifyYaml(value, { indent: Number(kwargs.indent ?? 2), lineWidth: 0 }),
  to_nice_yaml: (value, args, kwargs) =>
    stringifyYaml(value, {
      indent: Number(arg(args, kwargs, 0, 'indent', 4)),
      lineWidth: 0,
      sortMapEntries: kwargs.sort_keys === undefined ? true : truthy(kwargs.sort_keys),
    }),
  from_json: (value) => {
    try {
      return JSON.parse(asString(value)) as unknown;
    } catch (error) {
      throw new EvaluationProblem(`from_json: not valid JSON: ${(error as Error).message}`);
    }
  },
  from_yaml: (value) => {
    // Often host data: read within the loader's limits (an alias bomb must not hang the run).
    let docs: unknown[];
    try {
      docs = parseYaml(asString(value), 'from_yaml input', { version: '1.2', uniqueKeys: false });
    } catch (error) {
      throw new EvaluationProblem(`from_yaml: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
    if (docs.length > 1) throw new EvaluationProblem('from_yaml: the text holds several YAML documents (use from_yaml_all)');
    return docs[0] ?? null;
  },
  b64encode: (value) => Buffer.from(asString(value), 'utf8').toString('base64'),
  b64decode: (value) => Buffer.from(asString(value), 'base64').toString('utf8'),
  indent: (value, args, kwargs) => {
    const width = arg(args, kwargs, 0, 'width', 4);
    const first = truthy(arg(args, kwargs, 1, 'first', false));
    const blank = truthy(arg(args, kwargs, 2, 'blank', false));
    const pad = typeof width === 'string' ? width : ' '.repeat(Number(width));
    return asString(value)
      .split('\n')
      .map((line, i) => ((i > 0 || first) && (blank || line.trim() !== '') ? pad + line : line))
      .join('\n');
  },
  basename: (value) => posix.basename(asString(value)),
  dirname: (value) => {
    const text = asString(value);
    // Python's os.path.dirname: 'file' -> '', '/a/b/' -> '/a/b'.
    const slash = text.lastIndexOf('/');
    if (slash < 0) return '';
    const head = text.slice(0, slash + 1);
    return /^\/+$/.test(head) ? head : head.replace(/\/+$/, '');
  },
  quote: (value) => quote(asString(value)),
  hash: (value, args) => hashOf(value, String(args[0] ?? 'sha1')),
  checksum: (value) => hashOf(value, 'sha1'),
  md5: (value) => hashOf(value, 'md5'),
  sha1: (value) => hashOf(value, 'sha1'),
  ternary: (value, args, kwargs) => {
    const noneValue = arg(args, kwargs, 2, 'none_val', undefined);
    if (value === null && noneValue !== undefined) return noneValue;
    return truthy(value) ? arg(args, kwargs, 0, 'true_val', undefined) : arg(args, kwargs, 1, 'false_val', undefined);
  },
  abs: (value) => Math.abs(Number(value)),
  round: (value, args, kwargs) => {
    const precision = Number(arg(args, kwargs, 0, 'precision', 0));
    const method = String(arg(args, kwargs, 1, 'method', 'common'));
    const factor = 10 ** precision;
    const scaled = Number(value) * factor;
    const rounded = method === 'ceil' ? Math.ceil(scaled) : method === 'floor' ? Math.floor(scaled) : Math.sign(scaled) * Math.round(Math.abs(scaled));
    return rounded / factor;
  },
  format: (value, args) => formatPercent(asString(value), args),
  type_debug: (value) => typeName(value),
  items: (value) => Object.entries(asMapping(value, 'items')),
  zip: (value, args) => {
    const lists = [asList(value, 'zip'), ...args.map((a) => asList(a, 'zip'))];
    const length = Math.min(...lists.map((l) => l.length));
    return Array.from({ length }, (_, i) => lists.map((l) => l[i]));
  },
  center: (value, args) => {
    const text = asString(value);
    const width = Number(args[0] ?? 80);
    const left = Math.floor((width - text.length) / 2);
    return text.length >= width ? text : ' '.repeat(left) + text + ' '.repeat(width - text.length - left);
  },
  wordcount: (value) => asString(value).split(/\s+/).filter(Boolean).length,
  comment: (value) =>
    asString(value)
      .split('\n')
      .map((line) => `# ${line}`.trimEnd())
      .join('\n'),
  password_hash: passwordHash,
  ipaddr: ipFilter(undefined, 'ipaddr'),
  ipv4: ipFilter(4, 'ipv4'),
  ipv6: ipFilter(6, 'ipv6'),
};
FILTERS.d = FILTERS.default!;
FILTERS.count = FILTERS.length!;
FILTERS.e = FILTERS.escape = (value) =>
  asString(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');

export const FILTER_NAMES: ReadonlySet<string> = new Set(Object.keys(FILTERS));

/** Filters that must see an undefined value instead of failing on it. */
export const UNDEFINED_AWARE_FILTERS: ReadonlySet<string> = new Set(['default', 'd', 'mandatory']);
