/**
 * INI inventories, as Ansible's `ini` inventory plugin reads them:
 *
 *   host0 ansible_host=10.0.0.9     # before any section: ungrouped
 *   [web]
 *   web[01:03] http_port=8080       # hosts, inline vars parsed as Python literals
 *   [web:vars]
 *   proxy=proxy.example.com         # one key=value per line
 *   [prod:children]
 *   web                             # child groups
 *
 * A group must be declared by `[name]` or `[name:children]` somewhere in the file (or by
 * an earlier source) before `[name:vars]` or a `[x:children]` entry may refer to it.
 */
import { InputError, suggestion, type SourcePos } from '../input-error.js';
import { HostEntryError, parseHostEntry } from './host-ranges.js';
import { addChild, addGroup, addHosts } from './model.js';
import { parseIniValue } from './python-literal.js';
import { ShlexError, shlexSplit } from './shlex.js';
import type { Inventory } from './types.js';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;
const SECTION_KINDS = ['hosts', 'children', 'vars'] as const;
type SectionKind = (typeof SECTION_KINDS)[number];

interface Pending {
  kind: 'vars' | 'children';
  pos: SourcePos;
  /** For children: the groups whose `[x:children]` named it. */
  parents: string[];
}

export function parseIniInventory(inv: Inventory, text: string, file: string): void {
  const declared = new Set(inv.groups.keys());
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let kind: SectionKind = 'hosts';

  const resolvePending = (name: string) => {
    const entry = pending.get(name);
    if (entry?.kind !== 'children') {
      pending.delete(name);
      return;
    }
    pending.delete(name);
    for (const parent of entry.parents) {
      addChild(inv, parent, name, entry.pos);
      if (pending.get(parent)?.kind === 'children') resolvePending(parent);
    }
  };

  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const indent = raw.length - raw.trimStart().length;
    const at = (offset = 0): SourcePos => ({ file, line: index + 1, col: indent + offset + 1 });

    const section = SECTION.exec(line);
    if (section) {
      const name = section[1]!;
      const sectionKind = section[2] ?? 'hosts';
      if (!SECTION_KINDS.includes(sectionKind as SectionKind)) {
        throw new InputError(
          `section [${name}:${sectionKind}] has unknown kind '${sectionKind}'`,
          at(name.length + 2),
          suggestion(sectionKind, SECTION_KINDS) ?? `expected [${name}], [${name}:children] or [${name}:vars]`,
        );
      }
      group = name;
      kind = sectionKind as SectionKind;
      if (kind === 'vars') {
        if (!declared.has(name) && !pending.has(name)) pending.set(name, { kind: 'vars', pos: at(), parents: [] });
        addGroup(inv, name);
      } else {
        declared.add(name);
        addGroup(inv, name);
        resolvePending(name);
      }
      return;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      throw new InputError(
        `invalid section header '${line}'`,
        at(),
        'a section is [group], [group:children] or [group:vars], with no spaces inside the brackets',
      );
    }

    if (kind === 'hosts') {
      parseHostLine(inv, group, line, at, file);
    } else if (kind === 'vars') {
      const equals = line.indexOf('=');
      const key = equals === -1 ? '' : line.slice(0, equals).trim();
      if (!key) throw new InputError(`expected key=value in [${group}:vars], got '${line}'`, at());
      addGroup(inv, group).vars[key] = parseIniValue(line.slice(equals + 1).trim());
    } else {
      const child = GROUP_NAME.exec(line)?.[1];
      if (!child) throw new InputError(`expected a group name in [${group}:children], got '${line}'`, at());
      if (declared.has(child)) {
        addChild(inv, group, child, at());
      } else {
        const entry = pending.get(child);
        if (entry?.kind === 'children') entry.parents.push(group);
        else pending.set(child, { kind: 'children', pos: at(), parents: [group] });
      }
    }
  });

  // Anything still pending was referred to but never declared: a typo, most likely.
  for (const [name, entry] of pending) {
    const known = [...declared].filter((g) => g !== name);
    if (entry.kind === 'vars') {
      throw new InputError(
        `section [${name}:vars] is for group '${name}', which is never declared`,
        entry.pos,
        suggestion(name, known) ?? `declare it with [${name}] or [${name}:children]`,
      );
    }
    throw new InputError(
      `section [${entry.parents.at(-1)}:children] includes group '${name}', which is never declared`,
      entry.pos,
      suggestion(name, known) ?? `declare it with [${name}] (it may be empty) or [${name}:children]`,
    );
  }
}

function parseHostLine(inv: Inventory, group: string, line: string, at: (offset?: number) => SourcePos, file: string): void {
  let words: ReturnType<typeof shlexSplit>;
  try {
    words = shlexSplit(line);
  } catch (error) {
    if (error instanceof ShlexError) throw new InputError(`cannot parse host line: ${error.message}`, at(error.offset));
    throw error;
  }
  const [hostWord, ...assignments] = words;
  if (!hostWord) return;
  let entry: ReturnType<typeof parseHostEntry>;
  try {
    entry = parseHostEntry(hostWord.text);
  } catch (error) {
    if (error instanceof HostEntryError) throw new InputError(error.message, at(hostWord.offset));
    throw error;
  }
  const vars: Record<string, unknown> = {};
  for (const word of assignments) {
    const equals = word.text.indexOf('=');
    if (equals <= 0) {
      throw new InputError(
        `expected key=value host variable after '${hostWord.text}', got '${word.text}'`,
        at(word.offset),
        'quote values that contain spaces: key="a b"',
      );
    }
    vars[word.text.slice(0, equals)] = parseIniValue(word.text.slice(equals + 1));
  }
  addHosts(inv, group, entry.names, vars, { port: entry.port, source: file });
}
