/**
 * The argument kit every module declares its arguments with: Ansible's type coercions
 * (module_utils/common/validation.py), aliases declared once, and unknown arguments
 * reported by name with the allowed ones.
 *
 * Templated values arrive as strings ("{{ x }}" renders to text) and the k=v short form
 * gives only strings, so every typed argument takes the forms Ansible's arg spec takes.
 */
import { z } from 'zod';
import { InputError, suggestion, type SourcePos } from '../input-error.js';
import { positionOf } from '../yaml.js';
import { validate } from '../playbook/validate.js';

const TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f']);

/** Ansible's `boolean()`: yes/no, true/false, on/off, y/n, t/f, 1/0 in any case, and the numbers 1 and 0. */
export function toBoolean(value: unknown): unknown {
  if (typeof value === 'string') {
    const normalized = value.trim().toLowerCase();
    if (TRUE.has(normalized)) return true;
    if (FALSE.has(normalized)) return false;
  }
  if (value === 1) return true;
  if (value === 0) return false;
  return value;
}

/** What each kit type is, for listing a module's arguments by type. */
export type ArgumentKind = 'bool' | 'int' | 'float' | 'str' | 'list' | 'mode';
const kinds = new WeakMap<z.ZodType, ArgumentKind>();
function kind<T extends z.ZodType>(type: ArgumentKind, schema: T): T {
  kinds.set(schema, type);
  return schema;
}

/** type=bool. */
export const bool = () => kind('bool', z.preprocess(toBoolean, z.boolean()));

/** Python's int() of a string: optional sign, digits (underscores between), spaces around. */
const INT_TEXT = /^\s*[+-]?\d+(?:_\d+)*\s*$/;
/** Python's float() of a string (finite values). */
const FLOAT_TEXT = /^\s*[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?\s*$/;

/** type=int: an integer, or a string holding one. */
export const int = () =>
  kind(
    'int',
    z.preprocess((value) => (typeof value === 'string' && INT_TEXT.test(value) ? Number(value.replace(/_/g, '')) : value), z.number().int()),
  );

/** type=float: a number, or a string holding one. */
export const num = () =>
  kind(
    'float',
    z.preprocess((value) => (typeof value === 'string' && FLOAT_TEXT.test(value) ? Number(value.replace(/_/g, '')) : value), z.number()),
  );

/** type=str: a string; a number or boolean is its text, as Python's str() prints it. */
export const str = () =>
  kind(
    'str',
    z.preprocess((value) => (typeof value === 'boolean' ? (value ? 'True' : 'False') : typeof value === 'number' ? String(value) : value), z.string()),
  );

/** A str that may not be empty (names, paths). */
export const name = () => kind('str', str().pipe(z.string().min(1)));

/**
 * type=path. The value stays as given: a remote path starting with `~` is expanded on the
 * host, where Ansible's module would expand it (see `shellPath` in remote-file.ts).
 */
export const path = name;

/** type=list: a list, or a comma-separated string, or one number. */
export const list = <T extends z.ZodType>(item: T) =>
  kind(
    'list',
    z.preprocess((value) => (typeof value === 'string' ? value.split(',') : typeof value === 'number' ? [String(value)] : value), z.array(item)),
  );

/** file common arg `mode`: '0644', 644 read as octal text, 0o644, a YAML octal number, or symbolic `u=rw,g=r`. */
export const mode = () => kind('mode', z.union([z.string().min(1), z.number().int().nonnegative()]));
export type ModeArg = string | number;

/** Module arguments with their aliases: `{ path: ['dest', 'name'] }`. */
export type Aliases = Record<string, string[]>;

interface ArgumentSpec {
  names: string[];
  aliases: Aliases;
}

const specs = new WeakMap<z.ZodType, ArgumentSpec>();

/**
 * A module's argument schema. An alias is renamed to its argument before parsing (when
 * both are given the alias wins, as in Ansible); the result has the argument names only.
 * `checks` are the cross-argument rules (required_one_of, mutually_exclusive, ...).
 */
export function moduleArgs<Shape extends z.ZodRawShape>(
  shape: Shape,
  options: { aliases?: { [K in keyof Shape]?: string[] }; checks?: Array<[check: (args: z.output<z.ZodObject<Shape>>) => unknown, message: string]> } = {},
) {
  const aliases = (options.aliases ?? {}) as Aliases;
  const rename = (value: unknown): unknown => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
    const renamed: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const [argument, names] of Object.entries(aliases)) {
      for (const alias of names) {
        if (alias in renamed) {
          renamed[argument] = renamed[alias];
          delete renamed[alias];
        }
      }
    }
    return renamed;
  };
  let object: z.ZodType<z.output<z.ZodObject<Shape>>, unknown> = z.strictObject(shape);
  for (const [check, message] of options.checks ?? []) object = object.refine((parsed) => Boolean(check(parsed)), { message });
  const schema = z.preprocess(rename, object);
  specs.set(schema, { names: Object.keys(shape).filter((key) => !key.startsWith('_')), aliases });
  return schema;
}

/** The arguments a schema made by `moduleArgs` accepts, each with its aliases ("path (or dest, name)"). */
export function allowedArguments(schema: z.ZodType): string[] | undefined {
  const spec = specs.get(schema);
  return spec?.names.map((name) => (spec.aliases[name]?.length ? `${name} (or ${spec.aliases[name]!.join(', ')})` : name));
}

/**
 * Validate a module's (templated) arguments: an unknown argument is named, with a
 * did-you-mean and the allowed ones; other errors say which argument and what was expected.
 */
export function parseArguments<T>(module: { name: string; schema: z.ZodType<T> }, value: unknown, pos?: SourcePos): T {
  const spec = specs.get(module.schema);
  const what = `${module.name} arguments`;
  if (spec && value && typeof value === 'object' && !Array.isArray(value)) {
    const known = new Set([...spec.names, ...Object.values(spec.aliases).flat(), '_raw']);
    const unknown = Object.keys(value).find((key) => !known.has(key));
    if (unknown !== undefined) {
      const names = [...spec.names, ...Object.values(spec.aliases).flat()];
      const hint = [suggestion(unknown, names), `allowed: ${allowedArguments(module.schema)!.join(', ')}`].filter(Boolean).join(' ');
      throw new InputError(`${what}: unknown argument '${unknown}'`, positionOf(value, unknown) ?? pos, hint);
    }
  }
  return validate(module.schema, value, what, { fallbackPos: pos });
}

/** The kit type of an argument schema, through optional, default and further pipes. */
function kindOf(schema: z.ZodType): ArgumentKind | undefined {
  let current: z.ZodType | undefined = schema;
  while (current) {
    const found = kinds.get(current);
    if (found) return found;
    const def: { innerType?: z.ZodType; in?: z.ZodType } = (current as unknown as { _zod: { def: { innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
    current = def.innerType ?? def.in;
  }
  return undefined;
}

/** Each argument of a module's schema with its kit type (for tests over every module). */
export function argumentKinds(schema: z.ZodType): Record<string, ArgumentKind | undefined> {
  const object = (schema as unknown as { _zod: { def: { out?: z.ZodType } } })._zod.def.out;
  const shape = (object as unknown as { shape?: Record<string, z.ZodType> } | undefined)?.shape;
  return Object.fromEntries(Object.entries(shape ?? {}).map(([key, value]) => [key, kindOf(value)]));
}
