/**
 * Values as templates see them: Python semantics (truthiness, equality, text form),
 * because the playbooks they come from were written against Jinja.
 */

export type Vars = Record<string, unknown>;

/**
 * A lookup that found nothing. It travels through the expression instead of failing at
 * once, so `default`, `is defined` and short-circuits can absorb it (as Ansible's lazy
 * undefined does); any other use fails with the name and the reason it carries.
 */
export class Undefined {
  constructor(
    /** The path as written in the expression. */
    readonly name: string,
    /** Why it is undefined when the root exists (`'result' has no attribute 'x'`). */
    readonly reason?: string,
    /** A did-you-mean; computed only if the error is raised (most undefined values meet `default`). */
    private readonly hintSource?: string | (() => string | undefined),
    /** A whole message that replaces the standard one (`mandatory('msg')`). */
    readonly message?: string,
  ) {}

  get hint(): string | undefined {
    return typeof this.hintSource === 'function' ? this.hintSource() : this.hintSource;
  }
}

/** Set a key on a plain object built from user data: `__proto__` stays an ordinary key. */
export function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function isUndefined(value: unknown): value is Undefined {
  return value instanceof Undefined;
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Undefined);
}

/** Python truthiness: empty strings, lists and dicts, 0, None and False are false. */
export function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return false;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (isMapping(value)) return Object.keys(value).length > 0;
  return true;
}

/** Python `==`: deep for lists and dicts, no coercion between strings and numbers. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isMapping(a) && isMapping(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** The Python type name of a value, for error messages and `type_debug`. */
export function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Undefined) return 'Undefined';
  return 'dict';
}

function reprString(text: string): string {
  const quoteChar = text.includes("'") && !text.includes('"') ? '"' : "'";
  const escaped = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
  return quoteChar + (quoteChar === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quoteChar;
}

/** Python `repr`, used for values inside lists and dicts rendered as text. */
export function repr(value: unknown): string {
  if (typeof value === 'string') return reprString(value);
  if (value === null || value === undefined) return 'None';
  if (Array.isArray(value)) return `[${value.map(repr).join(', ')}]`;
  if (isMapping(value)) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${reprString(k)}: ${repr(v)}`)
      .join(', ')}}`;
  }
  return toText(value);
}

/** Python `str`: the text a value becomes inside a larger string. */
export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return String(value);
  }
  return repr(value);
}

/** What `{{ value }}` writes into a larger text: as `str`, except that None writes nothing (as Ansible does). */
export function toOutput(value: unknown): string {
  return value === null || value === undefined ? '' : toText(value);
}
