/**
 * Variables a task sees, by precedence (lowest first) — the documented subset of Ansible's order:
 *
 *   1. role defaults (every role of the play, then the task's own role)
 *   2. inventory: `all` < parent groups < child groups < group_vars files < host vars
 *      < host_vars files (computed by src/inventory)
 *   3. gathered facts
 *   4. play `vars`, then play `vars_files`
 *   5. role vars (every role of the play, then the task's own role)
 *   6. block and task `vars` (inner wins), role parameters
 *   7. registered results and `set_fact`
 *   8. extra vars (`-e`)
 *   (loop variables and magic variables such as `inventory_hostname` sit on top)
 *
 * Values are templated lazily, as Ansible does: a variable whose value contains `{{ }}`
 * is rendered when it is read, against the same variables.
 */
import { InputError } from '../input-error.js';
import { renderString } from '../template/index.js';
import type { Vars } from '../playbook/model.js';

const RENDERING = Symbol('rendering');
/** Reads the unrendered variables behind a lazy view. */
const RAW = Symbol('raw variables');

/** Wrap merged variables so that templated values render on read (and detect self-reference). */
export function lazyVars(merged: Vars): Vars {
  const cache = new Map<string, typeof RENDERING | { value: unknown; unsafe: boolean }>();
  const wrapValue = (value: unknown, root: Vars, path: string): unknown => {
    if (value instanceof UnsafeText) {
      unsafeReads++;
      return value.text;
    }
    if (value !== null && typeof value === 'object' && unsafeValues.has(value)) {
      unsafeReads++;
      return value;
    }
    if (typeof value === 'string' && value.includes('{{')) return renderString(value, root);
    if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
      return wrapContainer(value as Vars, root, path);
    }
    return value;
  };
  const wrapContainer = (target: Vars, root: Vars, path: string): Vars =>
    new Proxy(target, {
      get(object, key, receiver) {
        if (typeof key === 'symbol') return Reflect.get(object, key, receiver);
        if (!Object.hasOwn(object, key)) return Reflect.get(object, key, receiver);
        return wrapValue(object[key], root, `${path}.${key}`);
      },
    });

  const root: Vars = new Proxy(merged, {
    get(object, key, receiver) {
      if (key === RAW) return object;
      if (typeof key === 'symbol' || !Object.hasOwn(object, key)) return Reflect.get(object, key, receiver);
      const cached = cache.get(key);
      if (cached === RENDERING) {
        throw new InputError(`variable '${key}' refers to itself (recursive template)`, undefined, `check the value of '${key}'`);
      }
      if (cached) {
        // A value rendered from unsafe data counts as read unsafe every time it is read.
        if (cached.unsafe) unsafeReads++;
        return cached.value;
      }
      const raw = object[key];
      if (typeof raw === 'string' && raw.includes('{{')) {
        cache.set(key, RENDERING);
        try {
          const rendered = readsUnsafe(() => renderString(raw, root));
          if (rendered.unsafe) {
            markUnsafe(rendered.value);
            unsafeReads++;
          }
          cache.set(key, rendered);
          return rendered.value;
        } catch (error) {
          cache.delete(key);
          throw error;
        }
      }
      const rendered = readsUnsafe(() => wrapValue(raw, root, key));
      cache.set(key, rendered);
      return rendered.value;
    },
  });
  return root;
}

/**
 * Values that are data, never templates (Ansible calls them unsafe): registered results and
 * facts hold what a host printed, which may contain `{{`; so does anything a template made
 * from them (a `set_fact` copy, the items of a loop over them). Containers are marked in
 * `unsafeValues`, all the way down; a string bound on its own as a variable is boxed in
 * UnsafeText, which the lazy view unboxes without rendering.
 */
const unsafeValues = new WeakSet<object>();

class UnsafeText {
  constructor(readonly text: string) {}
}

/** How many unsafe values have been read so far: a render that read one made unsafe data. */
let unsafeReads = 0;

/** Mark a container and everything in it as data. */
export function markUnsafe<T>(value: T): T {
  if (value === null || typeof value !== 'object' || unsafeValues.has(value)) return value;
  unsafeValues.add(value);
  for (const item of Array.isArray(value) ? value : Object.values(value)) markUnsafe(item);
  return value;
}

/** A value to bind as a variable that must be read as data, whatever it is. */
export function unsafeBinding(value: unknown): unknown {
  return typeof value === 'string' ? (value.includes('{{') || value.includes('{%') ? new UnsafeText(value) : value) : markUnsafe(value);
}

export function isUnsafe(value: unknown): boolean {
  return value instanceof UnsafeText || (value !== null && typeof value === 'object' && unsafeValues.has(value));
}

/** Variables every one of which is data (gathered facts, a set_fact made from host data). */
export function unsafeVars(vars: Vars): Vars {
  return Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, unsafeBinding(value)]));
}

/** Run a render, and say whether it read unsafe data (its result then is unsafe too). */
export function readsUnsafe<T>(render: () => T): { value: T; unsafe: boolean } {
  const before = unsafeReads;
  const value = render();
  return { value, unsafe: unsafeReads !== before };
}

/** A deep plain copy: module arguments must not keep lazy proxies. */
export function materialize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(materialize);
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    const copy: Vars = {};
    for (const key of Object.keys(value)) copy[key] = materialize((value as Vars)[key]);
    return copy;
  }
  return value;
}

/**
 * `base` with more variables on top (a loop item, a registered result), as a new lazy view
 * over the unrendered values: templated variables then see the new ones (task `vars` that
 * use `{{ item }}`), and nothing is rendered just by extending.
 */
export function extendVars(base: Vars, top: Vars): Vars {
  const raw = ((base as Record<PropertyKey, unknown>)[RAW] as Vars | undefined) ?? base;
  return lazyVars({ ...raw, ...top });
}
