/**
 * YAML (and JSON) inventories, as Ansible's `yaml` inventory plugin reads them:
 *
 *   all:
 *     hosts: { node[1:3]: { ansible_user: root } }
 *     vars: { ntp: pool.ntp.org }
 *     children:
 *       web: { hosts: { web1: null }, vars: {}, children: {} }
 *
 * Top-level keys are groups. Where Ansible warns and skips an unknown key, tsrun stops
 * with its position and a suggestion: `chidren` silently dropping a whole subtree is
 * worse than an error.
 */
import { z } from 'zod';
import { InputError, suggestion } from '../input-error.js';
import { positionOf } from '../yaml.js';
import { HostEntryError, parseHostEntry } from './host-ranges.js';
import { addChild, addGroup, addHosts } from './model.js';
import type { Inventory } from './types.js';

const Vars = z.record(z.string(), z.unknown());
/** Ansible allows `hosts: web1` for a single entry. */
const oneNameAsMapping = (value: unknown) => (typeof value === 'string' ? { [value]: null } : value);

const GROUP_KEYS = ['hosts', 'vars', 'children'] as const;

const Hosts = z.preprocess(oneNameAsMapping, z.record(z.string(), Vars.nullable()).nullable());

/** Written out because TypeScript cannot infer a recursive schema's type on its own. */
interface Group {
  hosts?: z.infer<typeof Hosts>;
  vars?: z.infer<typeof Vars> | null;
  children?: Record<string, Group | null> | null;
}

const Group: z.ZodType<Group> = z.strictObject({
  hosts: Hosts.optional(),
  vars: Vars.nullable().optional(),
  children: z
    .preprocess(
      oneNameAsMapping,
      z
        .record(
          z.string(),
          z.lazy(() => Group.nullable()),
        )
        .nullable(),
    )
    .optional(),
});

const YamlInventory = z.record(z.string(), Group.nullable());

/** Where a validation path points, in words: "host 'h1' of group 'web'". */
function describePath(path: PropertyKey[]): string {
  let group = '';
  let what = 'the inventory';
  for (let i = 0; i < path.length; i++) {
    const key = String(path[i]);
    const parentKey = i === 0 ? 'children' : String(path[i - 1]);
    if (parentKey === 'children') {
      group = key;
      what = `group '${key}'`;
    } else if (key === 'vars') what = `vars of group '${group}'`;
    else if (key === 'hosts') what = `hosts of group '${group}'`;
    else if (parentKey === 'hosts') what = `host '${key}' of group '${group}'`;
  }
  return what;
}

/** The loaded object at `path` and the key in it, for a position. */
function locate(data: unknown, path: PropertyKey[]): { container: unknown; key?: string } {
  let container = data;
  for (let i = 0; i < path.length - 1; i++) {
    const next = (container as Record<string, unknown> | null)?.[String(path[i])];
    if (next === null || typeof next !== 'object') return { container, key: String(path[i]) };
    container = next;
  }
  return { container, key: path.length ? String(path.at(-1)) : undefined };
}

function validationError(data: unknown, issue: z.core.$ZodIssue, file: string): InputError {
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const { container } = locate(data, [...issue.path, key]);
    return new InputError(
      `unknown key '${key}' in ${describePath(issue.path)}`,
      positionOf(container, key) ?? { file, line: 1, col: 1 },
      suggestion(key, GROUP_KEYS) ?? `a group has only ${GROUP_KEYS.join(', ')}`,
    );
  }
  const { container, key } = locate(data, issue.path);
  const expected = issue.code === 'invalid_type' && (issue.expected === 'record' || issue.expected === 'object') ? 'a mapping' : undefined;
  const value = key === undefined ? data : (container as Record<string, unknown>)?.[key];
  const got = Array.isArray(value) ? 'a list' : value === null ? 'nothing' : `a ${typeof value}`;
  return new InputError(
    expected ? `${describePath(issue.path)} must be ${expected}, got ${got}` : `${describePath(issue.path)}: ${issue.message}`,
    positionOf(container, key) ?? { file, line: 1, col: 1 },
    issue.path.at(-2) === 'hosts' ? 'host variables are a mapping (key: value), or empty' : undefined,
  );
}

export function parseYamlInventory(inv: Inventory, data: unknown, file: string): void {
  if (data === null || data === undefined) throw new InputError('the YAML inventory is empty', { file, line: 1, col: 1 });
  if (typeof data === 'object' && !Array.isArray(data) && 'plugin' in data) {
    throw new InputError('inventory plugin configuration files are not supported', positionOf(data, 'plugin'), 'list hosts and groups under all:');
  }
  const parsed = YamlInventory.safeParse(data);
  if (!parsed.success) {
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new InputError('a YAML inventory must be a mapping of groups (all: ...)', positionOf(data) ?? { file, line: 1, col: 1 });
    }
    throw validationError(data, parsed.error.issues[0]!, file);
  }
  for (const [name, body] of Object.entries(parsed.data)) {
    addGroupBody(inv, name, body, (data as Record<string, unknown>)[name], file);
  }
}

function addGroupBody(inv: Inventory, name: string, body: Group | null, raw: unknown, file: string): void {
  const group = addGroup(inv, name);
  if (!body) return;
  const rawBody = raw as Record<string, unknown>;
  // Keys in file order, as Ansible does: it decides which host definitions come first.
  for (const key of Object.keys(rawBody)) {
    if (key === 'vars') Object.assign(group.vars, body.vars ?? {});
    else if (key === 'children') {
      const rawChildren = rawBody.children;
      for (const [child, childBody] of Object.entries(body.children ?? {})) {
        const rawChild = rawChildren && typeof rawChildren === 'object' ? (rawChildren as Record<string, unknown>)[child] : null;
        addGroupBody(inv, child, childBody, rawChild, file);
        addChild(inv, name, child, positionOf(rawChildren, child));
      }
    } else if (key === 'hosts') {
      for (const [entry, vars] of Object.entries(body.hosts ?? {})) {
        let parsedEntry: ReturnType<typeof parseHostEntry>;
        try {
          parsedEntry = parseHostEntry(entry);
        } catch (error) {
          if (error instanceof HostEntryError) throw new InputError(error.message, positionOf(rawBody.hosts, entry) ?? positionOf(rawBody, 'hosts'));
          throw error;
        }
        addHosts(inv, name, parsedEntry.names, vars ?? {}, { port: parsedEntry.port, source: file });
      }
    }
  }
}
