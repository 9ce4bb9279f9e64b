/**
 * Load a playbook with its roles, includes and handlers into the engine's model,
 * validating every file with positions.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { findModule, moduleNames } from '../modules/index.js';
import { InputError, suggestion, type SourcePos } from '../input-error.js';
import { loadYamlFile, positionOf } from '../yaml.js';
import type { BlockTask, Condition, ModuleTask, Play, Playbook, Role, Task, TaskSettings, Vars } from './model.js';
import { playSchema, rawTaskSchema, roleMetaSchema, type roleReferenceSchema, taskKeywordNames, type RawTask } from './schema.js';
import { validate } from './validate.js';
import type { z } from 'zod';

/** Far more nested includes than real content has; the cap keeps recursion off the JS stack's limit. */
export const INCLUDE_DEPTH_LIMIT = 64;

/** Files being loaded, outermost first, with where each was included from. */
type IncludeChain = Array<{ file: string; from?: SourcePos }>;

/** Refuse an include that closes a cycle or nests too deeply: it would recurse until the stack ran out. */
function enterInclude(chain: IncludeChain, file: string, from: SourcePos | undefined, what: string): IncludeChain {
  const base = dirname(chain[0]?.file ?? file);
  const shown = (path: string) => relative(base, path);
  const cycleStart = chain.findIndex((entry) => entry.file === file);
  if (cycleStart !== -1) {
    const cycle = [...chain.slice(cycleStart).map((entry) => shown(entry.file)), shown(file)].join(' -> ');
    throw new InputError(`${what} includes itself: ${cycle}`, from, 'an include cycle would never end; remove one of the includes');
  }
  if (chain.length >= INCLUDE_DEPTH_LIMIT) {
    throw new InputError(
      `includes nested more than ${INCLUDE_DEPTH_LIMIT} deep: ${[...chain.map((entry) => shown(entry.file)), shown(file)].join(' -> ')}`,
      from,
    );
  }
  return [...chain, { file, from }];
}

export interface LoadOptions {
  /** Extra directories searched for roles (after the playbook's own `roles/`). */
  rolesPath?: string[];
}

const emptySettings = (): TaskSettings => ({ when: [], tags: [], environment: {}, vars: {} });

function toList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function asObject(value: unknown, what: string, pos: SourcePos | undefined): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(`${what}: expected a mapping`, pos);
  }
  return value as Record<string, unknown>;
}

function asList(value: unknown, what: string, pos: SourcePos | undefined): unknown[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new InputError(`${what}: expected a list`, pos);
  return value;
}

function loadVarsFile(file: string, pos?: SourcePos): Vars {
  if (!existsSync(file)) throw new InputError(`vars file not found: ${file}`, pos);
  const data = loadYamlFile(file);
  if (data === null) return {};
  return asObject(data, `${file}`, positionOf(data) ?? { file, line: 1, col: 1 });
}

/**
 * Split an argument string into words as Ansible does: whitespace separates words, except
 * inside quotes and inside `{{ }}` / `{% %}`; quotes around a value are removed.
 */
export function splitArgWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | null = null;
  let depth = 0;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const pair = text.slice(i, i + 2);
    if (quote) {
      if (c === '\\' && text[i + 1] === quote) {
        current += quote;
        i++;
      } else if (c === quote) quote = null;
      else current += c;
    } else if (pair === '{{' || pair === '{%') {
      depth++;
      current += pair;
      i++;
      started = true;
    } else if ((pair === '}}' || pair === '%}') && depth > 0) {
      depth--;
      current += pair;
      i++;
    } else if (depth === 0 && (c === '"' || c === "'")) {
      quote = c;
      started = true;
    } else if (depth === 0 && /\s/.test(c)) {
      if (started) words.push(current);
      current = '';
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) words.push(current);
  return words;
}

const KEY_VALUE = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/;

/** Parse `k=v k2="v 2"` argument strings (Ansible's short form); other words are returned as `rest`. */
export function parseKeyValueArgs(text: string): { args: Record<string, string>; rest: string[] } {
  const args: Record<string, string> = {};
  const rest: string[] = [];
  for (const word of splitArgWords(text)) {
    const match = KEY_VALUE.exec(word);
    if (match) args[match[1]!] = match[2]!;
    else rest.push(word);
  }
  return { args, rest };
}

/** Keys of a role entry that are keywords, not role parameters. */
const ROLE_KEYWORDS = new Set(['role', 'name', 'tags', 'when', 'vars', 'become']);

class Loader {
  private readonly handlers: ModuleTask[] = [];
  private readonly roles: Role[] = [];
  private readonly rolesSeen = new Set<string>();
  /** Where each task's `notify` is written, to point at it when it names no handler. */
  private readonly notifyPos = new WeakMap<Task, SourcePos>();
  /** Task files being loaded, to stop at an include cycle. */
  private chain: IncludeChain = [];

  constructor(
    private readonly playDir: string,
    private readonly options: LoadOptions,
    playbookChain: IncludeChain = [],
  ) {
    this.chain = playbookChain;
  }

  loadPlay(raw: unknown, file: string): Play {
    const pos = positionOf(raw) ?? { file, line: 1, col: 1 };
    const play = validate(playSchema, raw, 'play', { fallbackPos: pos });
    const base: TaskSettings = {
      ...emptySettings(),
      tags: toList(play.tags),
      become: play.become,
      becomeUser: play.become_user,
      environment: stringify(play.environment),
      ignoreErrors: play.ignore_errors,
      checkMode: play.check_mode,
    };
    const rawPlay = raw as Record<string, unknown>;
    const section = (key: 'pre_tasks' | 'tasks' | 'post_tasks'): Task[] => this.loadTaskList(asList(rawPlay[key], key, positionOf(raw, key)), file, base);

    const roleTasks: Task[] = [];
    for (const [index, reference] of (play.roles ?? []).entries()) {
      roleTasks.push(...this.loadRoleReference(reference, positionOf(rawPlay.roles, index) ?? pos, base));
    }
    const handlers = asList(rawPlay.handlers, 'handlers', positionOf(raw, 'handlers'));
    for (const task of this.loadTaskList(handlers, file, base)) this.collectHandlers(task);

    const sections = [section('pre_tasks'), [...roleTasks, ...section('tasks')], section('post_tasks')];
    this.checkNotify([...sections.flat(), ...this.handlers]);

    const serial = play.serial === undefined ? undefined : toList(play.serial as number | string | Array<number | string>);
    return {
      name: play.name ?? toList(play.hosts).join(','),
      pos,
      hosts: toList(play.hosts).join(':'),
      vars: play.vars ?? {},
      varsFiles: play.vars_files ?? [],
      become: play.become,
      becomeUser: play.become_user,
      remoteUser: play.remote_user,
      connection: play.connection,
      gatherFacts: play.gather_facts ?? true,
      serial,
      anyErrorsFatal: play.any_errors_fatal ?? false,
      maxFailPercentage: play.max_fail_percentage,
      forceHandlers: play.force_handlers ?? false,
      sections,
      handlers: this.handlers,
      roles: this.roles,
      dir: this.playDir,
    };
  }

  /** Every literal `notify` must name a handler or a `listen` topic: caught at load, so --syntax-check sees it. */
  private checkNotify(tasks: Task[]): void {
    const known = new Set(this.handlers.flatMap((handler) => [handler.name, ...handler.listen]));
    const visit = (task: Task): void => {
      if (task.kind === 'block') {
        for (const inner of [...task.block, ...task.rescue, ...task.always]) visit(inner);
        return;
      }
      const missing = task.notify.find((name) => !name.includes('{{') && !known.has(name));
      if (missing === undefined) return;
      const hint = suggestion(missing, known) ?? (known.size ? `handlers: ${[...known].join(', ')}` : 'define it under handlers:');
      throw new InputError(`notify: no handler named '${missing}'`, this.notifyPos.get(task) ?? task.pos, hint);
    };
    tasks.forEach(visit);
  }

  private collectHandlers(task: Task): void {
    if (task.kind === 'module') this.handlers.push(task);
    else for (const child of [...task.block, ...task.rescue, ...task.always]) this.collectHandlers(child);
  }

  private findRoleDir(name: string, pos: SourcePos): string {
    if (isAbsolute(name) && existsSync(name)) return name;
    const candidates = [join(this.playDir, 'roles'), this.playDir, ...(this.options.rolesPath ?? [])];
    for (const dir of candidates) {
      const path = join(dir, name);
      if (existsSync(join(path, 'tasks')) || existsSync(join(path, 'meta')) || existsSync(join(path, 'handlers'))) return path;
    }
    throw new InputError(`role '${name}' not found`, pos, `looked in: ${candidates.join(', ')}`);
  }

  private loadRoleReference(reference: z.infer<typeof roleReferenceSchema>, pos: SourcePos, inherited: TaskSettings): Task[] {
    const spec: Record<string, unknown> = typeof reference === 'string' ? { role: reference } : reference;
    const name = (spec.role ?? spec.name) as string | undefined;
    if (!name) throw new InputError("role entry: missing key 'role'", pos);
    const params = Object.fromEntries(Object.entries(spec).filter(([key]) => !ROLE_KEYWORDS.has(key)));
    const settings: TaskSettings = {
      ...inherited,
      when: [...inherited.when, ...toList(spec.when as Condition | Condition[] | undefined)],
      tags: [...inherited.tags, ...toList(spec.tags as string | string[] | undefined)],
      become: (spec.become as boolean | undefined) ?? inherited.become,
      // Role parameters (`- role: x` with extra keys) act as role-scoped vars, like Ansible.
      vars: { ...inherited.vars, ...params, ...((spec.vars as Vars | undefined) ?? {}) },
    };
    return this.loadRole(name, pos, settings);
  }

  private loadRole(name: string, pos: SourcePos, inherited: TaskSettings, tasksFrom = 'main'): Task[] {
    const dir = this.findRoleDir(name, pos);
    const key = `${dir}\0${tasksFrom}\0${JSON.stringify(inherited.vars)}`;
    if (this.rolesSeen.has(key)) return []; // Ansible runs a role once per play unless its parameters differ
    this.rolesSeen.add(key);

    const optionalFile = (sub: string, base: string): string | undefined => {
      for (const ext of ['.yml', '.yaml', '']) {
        const path = join(dir, sub, base + ext);
        if (existsSync(path) && statSync(path).isFile()) return path;
      }
      return undefined;
    };

    const tasks: Task[] = [];
    const metaFile = optionalFile('meta', 'main');
    if (metaFile) {
      const meta = validate(roleMetaSchema, loadYamlFile(metaFile) ?? {}, `${name} role meta`);
      for (const [index, dependency] of (meta.dependencies ?? []).entries()) {
        const dependencyPos = positionOf(meta.dependencies, index) ?? { file: metaFile, line: 1, col: 1 };
        tasks.push(...this.loadRoleReference(dependency, dependencyPos, { ...inherited, role: undefined }));
      }
    }

    const defaultsFile = optionalFile('defaults', 'main');
    const varsFile = optionalFile('vars', 'main');
    const role: Role = {
      name,
      dir,
      defaults: defaultsFile ? loadVarsFile(defaultsFile) : {},
      vars: varsFile ? loadVarsFile(varsFile) : {},
    };
    this.roles.push(role);
    const settings: TaskSettings = { ...inherited, role };

    const tasksFile = optionalFile('tasks', tasksFrom);
    if (tasksFile) tasks.push(...this.loadTaskFile(tasksFile, settings));
    else if (tasksFrom !== 'main') throw new InputError(`role '${name}' has no tasks/${tasksFrom}.yml`, pos);

    const handlersFile = optionalFile('handlers', 'main');
    if (handlersFile) for (const handler of this.loadTaskFile(handlersFile, settings)) this.collectHandlers(handler);
    return tasks;
  }

  loadTaskFile(file: string, inherited: TaskSettings, from?: SourcePos): Task[] {
    const outer = this.chain;
    this.chain = enterInclude(outer, file, from, 'task file');
    try {
      const data = loadYamlFile(file);
      return this.loadTaskList(asList(data, file, positionOf(data) ?? { file, line: 1, col: 1 }), file, inherited);
    } finally {
      this.chain = outer;
    }
  }

  loadTaskList(list: unknown[], file: string, inherited: TaskSettings): Task[] {
    const tasks: Task[] = [];
    for (const [index, raw] of list.entries()) {
      const pos = positionOf(raw) ?? positionOf(list, index) ?? { file, line: 1, col: 1 };
      tasks.push(...this.loadTask(raw, pos, file, inherited));
    }
    return tasks;
  }

  private loadTask(raw: unknown, pos: SourcePos, file: string, inherited: TaskSettings): Task[] {
    const object = asObject(raw, 'task', pos);
    const task = validate(rawTaskSchema, object, 'task', { fallbackPos: pos });
    const settings = this.settingsOf(task, inherited);

    const include = task.include_tasks ?? task.import_tasks;
    if (include !== undefined) {
      const target = typeof include === 'string' ? include : include.file;
      if (target.includes('{{')) {
        throw new InputError('include_tasks: a templated file name is not supported', positionOf(object, 'include_tasks') ?? pos, 'name the file literally');
      }
      const base = settings.role ? join(settings.role.dir, 'tasks') : dirname(file);
      const path = resolve(base, target);
      const includePos = positionOf(object, task.include_tasks ? 'include_tasks' : 'import_tasks') ?? pos;
      if (!existsSync(path)) throw new InputError(`included task file not found: ${path}`, includePos);
      return this.loadTaskFile(path, settings, includePos);
    }
    const roleInclude = task.include_role ?? task.import_role;
    if (roleInclude !== undefined) {
      return this.loadRole(roleInclude.name, pos, { ...settings, role: undefined }, roleInclude.tasks_from ?? 'main');
    }

    if (task.block !== undefined) {
      const block: BlockTask = {
        ...settings,
        kind: 'block',
        name: task.name ?? 'block',
        pos,
        block: this.loadTaskList(task.block, file, settings),
        rescue: this.loadTaskList(task.rescue ?? [], file, settings),
        always: this.loadTaskList(task.always ?? [], file, settings),
      };
      return [block];
    }
    return [this.loadModuleTask(object, task, pos, settings)];
  }

  private settingsOf(task: RawTask, inherited: TaskSettings): TaskSettings {
    return {
      when: [...inherited.when, ...toList(task.when)],
      tags: [...new Set([...inherited.tags, ...toList(task.tags)])],
      become: task.become ?? inherited.become,
      becomeUser: task.become_user ?? inherited.becomeUser,
      environment: { ...inherited.environment, ...stringify(task.environment) },
      vars: { ...inherited.vars, ...(task.vars ?? {}) },
      ignoreErrors: task.ignore_errors ?? inherited.ignoreErrors,
      checkMode: task.check_mode ?? inherited.checkMode,
      diff: task.diff ?? inherited.diff,
      noLog: task.no_log ?? inherited.noLog,
      delegateTo: task.delegate_to ?? inherited.delegateTo,
      runOnce: task.run_once ?? inherited.runOnce,
      role: inherited.role,
    };
  }

  private loadModuleTask(object: Record<string, unknown>, task: RawTask, pos: SourcePos, settings: TaskSettings): ModuleTask {
    const moduleKeys = Object.keys(object).filter((key) => !taskKeywordNames.has(key));
    if (moduleKeys.length === 0) {
      throw new InputError(`task${task.name ? ` '${task.name}'` : ''}: no module given`, pos, `add one of: ${moduleNames().slice(0, 12).join(', ')}, ...`);
    }
    const known = [...moduleNames(), ...taskKeywordNames];
    const unknown = moduleKeys.find((key) => !findModule(key));
    if (unknown !== undefined) {
      const what = moduleKeys.length > 1 ? 'unknown key or module' : 'unknown module';
      throw new InputError(`task: ${what} '${unknown}'`, positionOf(object, unknown) ?? pos, suggestion(unknown, known));
    }
    if (moduleKeys.length > 1) {
      throw new InputError(
        `task: more than one module (${moduleKeys.join(', ')})`,
        positionOf(object, moduleKeys[1]!) ?? pos,
        'split it into one task per module',
      );
    }
    const moduleKey = moduleKeys[0]!;
    const module = findModule(moduleKey)!;
    const args = normalizeArgs(object[moduleKey], task.args, module.freeForm ?? false, positionOf(object, moduleKey) ?? pos);
    const loop = task.loop ?? task.with_items;
    const moduleTask: ModuleTask = {
      ...settings,
      kind: 'module',
      name: task.name ?? moduleKey,
      pos,
      module,
      args,
      loop,
      loopVar: task.loop_control?.loop_var ?? 'item',
      indexVar: task.loop_control?.index_var,
      loopLabel: task.loop_control?.label,
      register: task.register,
      changedWhen: task.changed_when === undefined ? undefined : toList(task.changed_when),
      failedWhen: task.failed_when === undefined ? undefined : toList(task.failed_when),
      until: task.until === undefined ? undefined : toList(task.until),
      retries: task.retries,
      delay: task.delay,
      timeout: task.timeout,
      action: moduleKey,
      notify: toList(task.notify),
      listen: toList(task.listen),
    };
    const notifyPos = positionOf(object, 'notify');
    if (notifyPos) this.notifyPos.set(moduleTask, notifyPos);
    return moduleTask;
  }
}

function stringify(environment: Record<string, string | number | boolean> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** Module arguments: a mapping, or the `k=v` / free-form string short forms, plus `args:`. */
function normalizeArgs(value: unknown, extra: Vars | undefined, freeForm: boolean, pos: SourcePos): unknown {
  let args: Record<string, unknown>;
  if (value === null || value === undefined) args = {};
  else if (typeof value === 'string') {
    if (value.includes('{{') && !freeForm && !value.includes('=')) {
      return value; // e.g. `debug: "{{ x }}"` is unusual but leave it to the module schema to judge
    }
    if (freeForm) {
      // Only the special keys are taken out of a free-form command line, as Ansible does.
      const special = new Set(['creates', 'removes', 'chdir', 'executable', 'stdin']);
      const specialArgs: Record<string, string> = {};
      const kept: string[] = [];
      for (const word of value.trim().split(/\s+(?=(?:creates|removes|chdir|executable|stdin)=)/)) {
        const match = KEY_VALUE.exec(word);
        if (match && special.has(match[1]!) && !/\s/.test(match[2]!.replace(/\{\{.*?\}\}/g, '')))
          specialArgs[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, '$2');
        else kept.push(word);
      }
      args = { _raw: kept.join(' '), ...specialArgs };
    } else {
      const parsed = parseKeyValueArgs(value);
      if (parsed.rest.length)
        throw new InputError(`module arguments: cannot parse '${parsed.rest.join(' ')}'`, pos, 'write the arguments as k=v pairs or as a mapping');
      args = parsed.args;
    }
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    args = value as Record<string, unknown>;
  } else {
    throw new InputError('module arguments: expected a mapping', pos);
  }
  return extra ? { ...extra, ...args } : args;
}

/** Load a playbook file (a list of plays, or `import_playbook` entries). */
export function loadPlaybook(file: string, options: LoadOptions = {}): Playbook {
  if (!existsSync(resolve(file))) throw new InputError(`playbook not found: ${file}`);
  return loadPlaybookFile(resolve(file), options, [], undefined);
}

function loadPlaybookFile(path: string, options: LoadOptions, outer: IncludeChain, from: SourcePos | undefined): Playbook {
  if (!existsSync(path)) throw new InputError(`playbook not found: ${path}`, from);
  const chain = enterInclude(outer, path, from, 'playbook');
  const data = loadYamlFile(path);
  const entries = asList(data, 'playbook', positionOf(data) ?? { file: path, line: 1, col: 1 });
  const plays: Play[] = [];
  for (const [index, entry] of entries.entries()) {
    const pos = positionOf(entry) ?? positionOf(entries, index) ?? { file: path, line: 1, col: 1 };
    const object = asObject(entry, 'play', pos);
    if ('import_playbook' in object) {
      const target = resolve(dirname(path), String(object.import_playbook));
      plays.push(...loadPlaybookFile(target, options, chain, positionOf(object, 'import_playbook') ?? pos).plays);
      continue;
    }
    plays.push(new Loader(dirname(path), options, chain).loadPlay(entry, path));
  }
  return { file: path, dir: dirname(path), plays };
}

export { loadVarsFile };
