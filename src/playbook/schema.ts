/**
 * zod schemas for plays, tasks and roles as users write them (Ansible keywords).
 * The loader (load.ts) validates raw YAML against these and turns failures into
 * file:line:col errors; the types used by the engine come from here.
 */
import { z } from 'zod';

const stringList = z.union([z.string(), z.array(z.string())]);
const condition = z.union([z.string(), z.boolean(), z.array(z.union([z.string(), z.boolean()]))]);
const vars = z.record(z.string(), z.unknown());
const environment = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** Keywords a task may carry beside its module. */
export const taskKeywords = {
  name: z.string().optional(),
  when: condition.optional(),
  loop: z.unknown().optional(),
  with_items: z.unknown().optional(),
  loop_control: z
    .strictObject({
      loop_var: z.string().optional(),
      index_var: z.string().optional(),
      label: z.string().optional(),
      pause: z.number().optional(),
    })
    .optional(),
  register: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name')
    .optional(),
  changed_when: condition.optional(),
  failed_when: condition.optional(),
  ignore_errors: z.union([z.boolean(), z.string()]).optional(),
  notify: stringList.optional(),
  listen: stringList.optional(),
  tags: stringList.optional(),
  become: z.boolean().optional(),
  become_user: z.string().optional(),
  check_mode: z.boolean().optional(),
  diff: z.boolean().optional(),
  no_log: z.boolean().optional(),
  retries: z.union([z.number().int().nonnegative(), z.string()]).optional(),
  until: condition.optional(),
  delay: z.union([z.number().nonnegative(), z.string()]).optional(),
  // Seconds, as Ansible's (0: no limit); a string must be a whole number or a template.
  timeout: z
    .union([z.number().int().nonnegative(), z.string().refine((text) => /^\s*\d+\s*$|\{\{/.test(text), 'expected a whole number of seconds or a template')])
    .optional(),
  delegate_to: z.string().optional(),
  run_once: z.boolean().optional(),
  environment: environment.optional(),
  vars: vars.optional(),
  args: vars.optional(),
  block: z.array(z.unknown()).optional(),
  rescue: z.array(z.unknown()).optional(),
  always: z.array(z.unknown()).optional(),
  include_tasks: z.union([z.string(), z.strictObject({ file: z.string() })]).optional(),
  import_tasks: z.union([z.string(), z.strictObject({ file: z.string() })]).optional(),
  include_role: z.strictObject({ name: z.string(), tasks_from: z.string().optional() }).optional(),
  import_role: z.strictObject({ name: z.string(), tasks_from: z.string().optional() }).optional(),
} as const;

export const taskKeywordNames = new Set(Object.keys(taskKeywords));

/** A task with its module key(s) still unresolved: the loader finds the one module key. */
export const rawTaskSchema = z.looseObject(taskKeywords);
export type RawTask = z.infer<typeof rawTaskSchema>;

export const roleReferenceSchema = z.union([
  z.string(),
  z.looseObject({
    role: z.string().optional(),
    name: z.string().optional(),
    tags: stringList.optional(),
    when: condition.optional(),
    vars: vars.optional(),
    become: z.boolean().optional(),
  }),
]);

export const playSchema = z.strictObject({
  name: z.string().optional(),
  hosts: stringList,
  vars: vars.optional(),
  vars_files: z.array(z.string()).optional(),
  become: z.boolean().optional(),
  become_user: z.string().optional(),
  remote_user: z.string().optional(),
  gather_facts: z.boolean().optional(),
  roles: z.array(roleReferenceSchema).optional(),
  pre_tasks: z.array(z.unknown()).optional(),
  tasks: z.array(z.unknown()).optional(),
  post_tasks: z.array(z.unknown()).optional(),
  handlers: z.array(z.unknown()).optional(),
  serial: z.union([z.number().int().positive(), z.string(), z.array(z.union([z.number(), z.string()]))]).optional(),
  any_errors_fatal: z.boolean().optional(),
  max_fail_percentage: z.number().optional(),
  force_handlers: z.boolean().optional(),
  ignore_errors: z.boolean().optional(),
  check_mode: z.boolean().optional(),
  environment: environment.optional(),
  tags: stringList.optional(),
  connection: z.string().optional(),
});
export type RawPlay = z.infer<typeof playSchema>;

export const roleMetaSchema = z.looseObject({
  dependencies: z.array(roleReferenceSchema).optional(),
  galaxy_info: z.unknown().optional(),
});
