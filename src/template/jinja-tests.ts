/**
 * Jinja and Ansible tests: `x is defined`, `result is failed`, `v is version('1.2', '>=')`.
 * `defined` and `undefined` see undefined values; every other test gets a real value.
 */
import { isIP } from 'node:net';
import { deepEqual, isMapping, isUndefined, truthy, typeName } from './values.js';

export class EvaluationProblem extends Error {}

export type Test = (value: unknown, args: unknown[], kwargs: Record<string, unknown>) => boolean;

function resultFlag(name: string, flag: string): Test {
  return (value) => {
    if (!isMapping(value)) throw new EvaluationProblem(`the '${name}' test expects a registered result (a dict), got ${typeName(value)}`);
    return truthy(value[flag]);
  };
}

function number(value: unknown, what: string): number {
  if (typeof value === 'number') return value;
  throw new EvaluationProblem(`${what} expects a number, got ${typeName(value)}`);
}

function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[.\-+_]/).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

const VERSION_OPERATORS: Record<string, (c: number) => boolean> = {
  '==': (c) => c === 0,
  eq: (c) => c === 0,
  '!=': (c) => c !== 0,
  ne: (c) => c !== 0,
  '<>': (c) => c !== 0,
  '<': (c) => c < 0,
  lt: (c) => c < 0,
  '<=': (c) => c <= 0,
  le: (c) => c <= 0,
  '>': (c) => c > 0,
  gt: (c) => c > 0,
  '>=': (c) => c >= 0,
  ge: (c) => c >= 0,
};

/** Python regex syntax that JavaScript spells differently. */
export function pythonRegex(pattern: string, flags = ''): RegExp {
  try {
    return new RegExp(pattern.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>'), flags);
  } catch (error) {
    throw new EvaluationProblem(`invalid regular expression '${pattern}': ${(error as Error).message}`);
  }
}

function regexFlags(kwargs: Record<string, unknown>): string {
  return (truthy(kwargs.ignorecase) ? 'i' : '') + (truthy(kwargs.multiline) ? 'm' : '');
}

function contains(container: unknown, item: unknown): boolean {
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new EvaluationProblem(`'in <string>' requires a string on the left, got ${typeName(item)}`);
    return container.includes(item);
  }
  if (Array.isArray(container)) return container.some((x) => deepEqual(x, item));
  if (isMapping(container)) return typeof item === 'string' || typeof item === 'number' ? Object.hasOwn(container, String(item)) : false;
  throw new EvaluationProblem(`argument of type '${typeName(container)}' is not a container`);
}

export { contains };

export interface ParsedIp {
  version: 4 | 6;
  address: string;
  /** The prefix length after a `/`, when one is given. */
  prefix?: number;
  bits: 32 | 128;
  /** Whether the host bits are all zero (the address names the network). */
  isNetworkAddress: boolean;
}

function hostBitsZero(address: string, version: 4 | 6, prefix: number): boolean {
  let bits: string;
  if (version === 4) {
    bits = address
      .split('.')
      .map((octet) => Number(octet).toString(2).padStart(8, '0'))
      .join('');
  } else {
    const [head = '', tail = ''] = address.split('::');
    const groups = (part: string): string[] => (part ? part.split(':') : []);
    const embedded = (list: string[]): string[] => {
      const last = list.at(-1);
      if (!last?.includes('.')) return list;
      const octets = last.split('.').map(Number);
      return [...list.slice(0, -1), ((octets[0]! << 8) | octets[1]!).toString(16), ((octets[2]! << 8) | octets[3]!).toString(16)];
    };
    const left = embedded(groups(head));
    const right = embedded(groups(tail));
    const all = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
    bits = all.map((group) => parseInt(group, 16).toString(2).padStart(16, '0')).join('');
  }
  return !bits.slice(prefix).includes('1');
}

/** An IPv4/IPv6 address, optionally with a `/prefix`; undefined when it is not one. */
export function parseIp(text: string): ParsedIp | undefined {
  const [address = '', prefixText, ...extra] = text.trim().split('/');
  if (extra.length > 0) return undefined;
  const version = isIP(address);
  if (version !== 4 && version !== 6) return undefined;
  const bits = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { version, address, bits, isNetworkAddress: false };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  const prefix = Number(prefixText);
  return { version, address, prefix, bits, isNetworkAddress: hostBitsZero(address, version, prefix) };
}

/** ansible.utils tests: `ip` takes networks too, `*_address` only a single address. */
function ipTest(version: 4 | 6 | undefined, addressOnly: boolean): Test {
  return (value) => {
    if (typeof value !== 'string') return false;
    const parsed = parseIp(value);
    if (!parsed || (version !== undefined && parsed.version !== version)) return false;
    return !addressOnly || parsed.prefix === undefined;
  };
}

export const TESTS: Record<string, Test> = {
  defined: (value) => !isUndefined(value),
  undefined: (value) => isUndefined(value),
  none: (value) => value === null,
  string: (value) => typeof value === 'string',
  number: (value) => typeof value === 'number',
  integer: (value) => typeof value === 'number' && Number.isInteger(value),
  float: (value) => typeof value === 'number' && !Number.isInteger(value),
  boolean: (value) => typeof value === 'boolean',
  mapping: (value) => isMapping(value),
  // Jinja: anything with a length and items, so strings and dicts too.
  sequence: (value) => typeof value === 'string' || Array.isArray(value) || isMapping(value),
  iterable: (value) => typeof value === 'string' || Array.isArray(value) || isMapping(value),
  true: (value) => value === true,
  false: (value) => value === false,
  truthy: (value) => truthy(value),
  falsy: (value) => !truthy(value),
  succeeded: (value, args, kwargs) => !resultFlag('succeeded', 'failed')(value, args, kwargs),
  success: (value, args, kwargs) => !resultFlag('success', 'failed')(value, args, kwargs),
  failed: resultFlag('failed', 'failed'),
  failure: resultFlag('failure', 'failed'),
  changed: resultFlag('changed', 'changed'),
  change: resultFlag('change', 'changed'),
  skipped: resultFlag('skipped', 'skipped'),
  skip: resultFlag('skip', 'skipped'),
  unreachable: resultFlag('unreachable', 'unreachable'),
  reachable: (value, args, kwargs) => !resultFlag('reachable', 'unreachable')(value, args, kwargs),
  even: (value) => number(value, 'even') % 2 === 0,
  odd: (value) => Math.abs(number(value, 'odd') % 2) === 1,
  divisibleby: (value, [n]) => number(value, 'divisibleby') % number(n, 'divisibleby') === 0,
  eq: (value, [other]) => deepEqual(value, other),
  equalto: (value, [other]) => deepEqual(value, other),
  '==': (value, [other]) => deepEqual(value, other),
  ne: (value, [other]) => !deepEqual(value, other),
  '!=': (value, [other]) => !deepEqual(value, other),
  lt: (value, [other]) => number(value, 'lt') < number(other, 'lt'),
  le: (value, [other]) => number(value, 'le') <= number(other, 'le'),
  gt: (value, [other]) => number(value, 'gt') > number(other, 'gt'),
  ge: (value, [other]) => number(value, 'ge') >= number(other, 'ge'),
  sameas: (value, [other]) => value === other,
  in: (value, [container]) => contains(container, value),
  contains: (value, [item]) => contains(value, item),
  subset: (value, [other]) => Array.isArray(value) && Array.isArray(other) && value.every((x) => contains(other, x)),
  superset: (value, [other]) => Array.isArray(value) && Array.isArray(other) && other.every((x) => contains(value, x)),
  lower: (value) => typeof value === 'string' && value === value.toLowerCase(),
  upper: (value) => typeof value === 'string' && value === value.toUpperCase(),
  // Python's re.match anchors at the start only; re.search anywhere.
  match: (value, [pattern], kwargs) => typeof value === 'string' && pythonRegex(`^(?:${String(pattern)})`, regexFlags(kwargs)).test(value),
  search: (value, [pattern], kwargs) => typeof value === 'string' && pythonRegex(String(pattern), regexFlags(kwargs)).test(value),
  regex: (value, [pattern], kwargs) => typeof value === 'string' && pythonRegex(String(pattern), regexFlags(kwargs)).test(value),
  version: (value, [other, op = 'eq']) => {
    const check = VERSION_OPERATORS[String(op)];
    if (!check) throw new EvaluationProblem(`unknown version comparison '${String(op)}' (use one of ${Object.keys(VERSION_OPERATORS).join(', ')})`);
    return check(compareVersions(String(value), String(other)));
  },
};
TESTS.version_compare = TESTS.version!;
TESTS.ip = ipTest(undefined, false);
TESTS.ipv4 = ipTest(4, false);
TESTS.ipv6 = ipTest(6, false);
TESTS.ip_address = ipTest(undefined, true);
TESTS.ipv4_address = ipTest(4, true);
TESTS.ipv6_address = ipTest(6, true);

export const TEST_NAMES: ReadonlySet<string> = new Set(Object.keys(TESTS));

/** Tests that must see an undefined value instead of failing on it. */
export const UNDEFINED_AWARE_TESTS: ReadonlySet<string> = new Set(['defined', 'undefined']);
