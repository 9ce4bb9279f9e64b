/** Turn zod failures on loaded YAML into InputErrors that point at the offending key. */
import type { z } from 'zod';
import { InputError, suggestion, type SourcePos } from '../input-error.js';
import { positionOf } from '../yaml.js';

function describeExpected(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_union':
      return 'has the wrong type or shape';
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `expected ${issue.format}`;
    default:
      return issue.message;
  }
}

/** Walk `path` into `value`, returning the deepest container and the last key found. */
function locate(value: unknown, path: PropertyKey[], fallback?: SourcePos): SourcePos | undefined {
  let container: unknown = value;
  let pos = positionOf(value) ?? fallback;
  for (const key of path) {
    if (container === null || typeof container !== 'object') break;
    pos = positionOf(container, String(key)) ?? pos;
    container = (container as Record<string, unknown>)[String(key)];
  }
  return pos;
}

/**
 * Validate `value` against `schema`; on failure throw an InputError naming the key path,
 * what was expected, its position, and a did-you-mean for unknown keys.
 */
export function validate<T>(schema: z.ZodType<T>, value: unknown, what: string, options: { fallbackPos?: SourcePos; knownKeys?: Iterable<string> } = {}): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  // An unknown key usually explains the rest (`hostz` is why `hosts` is missing): report it first.
  const issues = parsed.error.issues;
  const issue = issues.find((candidate) => candidate.code === 'unrecognized_keys') ?? issues[0]!;
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const pos = locate(value, [...path, key], options.fallbackPos);
    const known = options.knownKeys ?? Object.keys(shapeOf(schema, path) ?? {});
    throw new InputError(`${what}: unknown key '${key}'`, pos, suggestion(key, known) ?? `allowed keys: ${[...known].join(', ')}`);
  }
  const keyPath = path.length ? `'${path.join('.')}' ` : '';
  if (path.length && valueAt(value, path) === undefined) {
    throw new InputError(`${what}: missing required key '${path.join('.')}'`, locate(value, path.slice(0, -1), options.fallbackPos));
  }
  throw new InputError(`${what}: ${keyPath}${describeExpected(issue)}`, locate(value, path, options.fallbackPos));
}

function valueAt(value: unknown, path: PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[String(key)];
  }
  return current;
}

/** The object shape at `path` inside `schema`, when it is a plain object schema (for did-you-mean). */
function shapeOf(schema: z.ZodType, path: PropertyKey[]): Record<string, unknown> | undefined {
  let current: unknown = schema;
  for (const key of path) {
    const shape = (current as { shape?: Record<string, unknown> }).shape;
    if (!shape) return undefined;
    current = shape[String(key)];
    // Unwrap optional wrappers to reach the inner object.
    while (current && (current as { unwrap?: () => unknown }).unwrap) current = (current as { unwrap: () => unknown }).unwrap();
  }
  return (current as { shape?: Record<string, unknown> })?.shape;
}
