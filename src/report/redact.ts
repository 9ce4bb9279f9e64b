/**
 * Secrets never reach the console, JSON output or the log: values of variables named
 * like secrets are masked wherever they appear, in every encoding tsrun's own filters
 * give them (a template may write a secret `| to_json`, `| b64encode`, ...), and `no_log`
 * results are replaced whole.
 */
import type { Vars } from '../playbook/model.js';
import { FILTERS } from '../template/filters.js';
import { repr } from '../template/values.js';

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
  const forms = new Set<string>();
  for (const secret of found) for (const form of secretForms(secret)) forms.add(form);
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Filters whose output holds a secret in another spelling. */
const ENCODING_FILTERS = ['to_json', 'to_nice_json', 'to_yaml', 'to_nice_yaml', 'quote', 'urlencode', 'regex_escape', 'b64encode'];
/** Shorter spellings than this are too likely to match ordinary text. */
const MIN_FORM = 3;
const MIN_BASE64_FORM = 6;

/**
 * A secret as text, and as every encoding of it tsrun produces: the filters' outputs
 * (without their quotes), its Python repr (lists and dicts rendered as text), each long
 * line of a multi-line secret (diffs are shown by line), and its base64 at each of the
 * three alignments it can have inside a longer encoded text.
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  const add = (form: string, minimum = MIN_FORM): void => {
    if (form.length >= minimum) forms.add(form);
  };
  for (const name of ENCODING_FILTERS) {
    const filter = FILTERS[name];
    if (!filter) continue;
    let encoded: string;
    try {
      encoded = String(filter(secret, [], {}));
    } catch {
      continue;
    }
    add(encoded.trim());
    add(unquoted(encoded.trim()));
  }
  add(unquoted(repr(secret)));
  add(unquoted(JSON.stringify(secret)));
  if (secret.includes('\n')) for (const line of secret.split('\n')) add(line.trim(), 8);
  const bytes = Buffer.from(secret, 'utf8');
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Only the characters made of the secret's bits alone.
    const stable = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    add(stable, MIN_BASE64_FORM);
    add(stable.replace(/\+/g, '-').replace(/\//g, '_'), MIN_BASE64_FORM);
  }
  return [...forms];
}

function unquoted(text: string): string {
  const first = text[0];
  return text.length >= 2 && (first === '"' || first === "'") && text.endsWith(first) ? text.slice(1, -1) : text;
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
