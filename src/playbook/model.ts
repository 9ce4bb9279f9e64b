/** The loaded, validated playbook as the engine sees it. */
import type { Module } from '../modules/types.js';
import type { SourcePos } from '../input-error.js';

export type Vars = Record<string, unknown>;
export type Condition = string | boolean;

export interface Role {
  name: string;
  dir: string;
  defaults: Vars;
  vars: Vars;
}

/** Keywords that apply to a task and are inherited from enclosing blocks, includes and roles. */
export interface TaskSettings {
  when: Condition[];
  tags: string[];
  become?: boolean;
  becomeUser?: string;
  environment: Record<string, string>;
  /** Task-level `vars:`, merged from the enclosing blocks (inner wins). */
  vars: Vars;
  ignoreErrors?: boolean | string;
  checkMode?: boolean;
  diff?: boolean;
  noLog?: boolean;
  delegateTo?: string;
  runOnce?: boolean;
  role?: Role;
}

export interface ModuleTask extends TaskSettings {
  kind: 'module';
  name: string;
  pos: SourcePos;
  module: Module;
  /** Module arguments as written (templated per host at run time). */
  args: unknown;
  loop?: unknown;
  loopVar: string;
  indexVar?: string;
  loopLabel?: string;
  register?: string;
  changedWhen?: Condition[];
  failedWhen?: Condition[];
  until?: Condition[];
  retries?: number | string;
  delay?: number | string;
  /** Seconds each attempt of the module may take (`timeout:`), as written. */
  timeout?: number | string;
  /** The module's key as written (`shell`, `ansible.builtin.shell`): Ansible's timeout message names it. */
  action: string;
  notify: string[];
  /** For handlers: topics this handler also answers to. */
  listen: string[];
}

export interface BlockTask extends TaskSettings {
  kind: 'block';
  name: string;
  pos: SourcePos;
  block: Task[];
  rescue: Task[];
  always: Task[];
}

export type Task = ModuleTask | BlockTask;

export interface Play {
  name: string;
  pos: SourcePos;
  hosts: string;
  vars: Vars;
  varsFiles: string[];
  become?: boolean;
  becomeUser?: string;
  remoteUser?: string;
  connection?: string;
  gatherFacts: boolean;
  serial?: Array<number | string>;
  anyErrorsFatal: boolean;
  maxFailPercentage?: number;
  forceHandlers: boolean;
  /** pre_tasks, then roles' tasks followed by tasks, then post_tasks; handlers flush after each. */
  sections: Task[][];
  handlers: ModuleTask[];
  /** Role defaults and vars, in load order (each task carries its own role too). */
  roles: Role[];
  dir: string;
}

export interface Playbook {
  file: string;
  dir: string;
  plays: Play[];
}
