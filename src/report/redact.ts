/**
 * Secrets never reach the console, JSON output or the log: values of variables named
 * like secrets are masked wherever they appear, and `no_log` results are replaced whole.
 */
import type { Vars } from '../playbook/model.js';

const SECRET_NAME = /(pass(word|wd|phrase)?|secret|token|api_?key|private_?key|credential)s?$/i;
const NOT_SECRET = /(_file|_path|_dir)$/i;
export const MASK = '********';

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET.test(name);
}

/** Values (as text) of every secret-named variable in `vars`, top level and one level down. */
export function secretValues(vars: Vars): string[] {
  const found = new Set<string>();
  const visit = (object: Vars, depth: number): void => {
    for (const key of Object.keys(object)) {
      if (!isSecretName(key) && depth === 0) continue;
      let value: unknown;
      try {
        value = object[key];
      } catch {
        continue; // an unrenderable variable cannot be printed either
      }
      if (isSecretName(key) && (typeof value === 'string' || typeof value === 'number') && String(value).length >= 3) found.add(String(value));
      else if (depth > 0 && value && typeof value === 'object' && !Array.isArray(value)) visit(value as Vars, depth - 1);
    }
  };
  visit(vars, 1);
  return [...found].sort((a, b) => b.length - a.length);
}

export function redact<T>(value: T, secrets: string[]): T {
  const walk = (item: unknown, key?: string): unknown => {
    if (key !== undefined && isSecretName(key) && (typeof item === 'string' || typeof item === 'number')) return MASK;
    if (typeof item === 'string') {
      let text = item;
      for (const secret of secrets) if (text.includes(secret)) text = text.split(secret).join(MASK);
      return text;
    }
    if (Array.isArray(item)) return item.map((element) => walk(element));
    if (item && typeof item === 'object') {
      return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, walk(v, k)]));
    }
    return item;
  };
  return walk(value) as T;
}

export const NO_LOG_MESSAGE = "the output has been hidden due to the fact that 'no_log: true' was specified for this result";
