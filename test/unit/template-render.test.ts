import { parseYaml } from '../../src/yaml.js';
import { positionOf } from '../../src/yaml.js';
import { renderString, renderTemplate, renderValue, TemplateSyntaxError, UndefinedVariableError } from '../../src/template/index.js';
import type { InputError } from '../../src/input-error.js';

const vars = {
  name: 'web',
  port: 5000,
  enabled: true,
  nothing: null,
  hosts: ['a', 'b', 'c'],
  users: [
    { name: 'alice', shell: '/bin/bash' },
    { name: 'bob', shell: '/bin/sh' },
  ],
  registry: { url: 'https://mirror:5000', ca: 'line1\nline2' },
};

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    return error as InputError;
  }
  throw new Error('expected an error');
}

describe('renderString', () => {
  test('text without templates comes back untouched', () => {
    const text = 'plain text with { braces }';
    expect(renderString(text, vars)).toBe(text);
  });

  test('a sole expression keeps its native type', () => {
    expect(renderString('{{ hosts }}', vars)).toBe(vars.hosts);
    expect(renderString('{{ port }}', vars)).toBe(5000);
    expect(renderString('{{ enabled }}', vars)).toBe(true);
    expect(renderString('  {{ registry }}\n', vars)).toBe(vars.registry);
    expect(renderString('{{ nothing }}', vars)).toBeNull();
    expect(renderString("{{ {'a': {'b': 1}} }}", vars)).toEqual({ a: { b: 1 } });
  });

  test('mixed text renders to a string, values in Python form', () => {
    expect(renderString('http://{{ name }}:{{ port }}/', vars)).toBe('http://web:5000/');
    expect(renderString('flag={{ enabled }} list={{ hosts }} none={{ nothing }}.', vars)).toBe("flag=True list=['a', 'b', 'c'] none=.");
    expect(renderString('{{ name }}-{{ port }}', vars)).toBe('web-5000');
  });

  test('Jinja tags work inside YAML strings', () => {
    expect(renderString('{% if enabled %}on{% else %}off{% endif %}', vars)).toBe('on');
    expect(renderString('{% for h in hosts %}{{ h }}{% endfor %}', vars)).toBe('abc');
  });

  test('an undefined variable points at the YAML key, offset by the line inside the string', () => {
    const at = { file: 'roles/mirror/tasks/main.yml', line: 10, col: 5 };
    const first = errorOf(() => renderString('x {{ missing }}', vars, at));
    expect(first).toBeInstanceOf(UndefinedVariableError);
    expect(first.describe()).toBe("roles/mirror/tasks/main.yml:10:5: 'missing' is undefined");
    const third = errorOf(() => renderString('a\nb\n  {{ registry.uri }}', vars, at));
    expect(third.pos).toEqual({ file: 'roles/mirror/tasks/main.yml', line: 12, col: 6 });
    expect(third.message).toBe("'registry.uri' is undefined: 'registry' has no attribute 'uri'");
    expect(third.hint).toBe("did you mean 'url'?");
  });

  test('a did-you-mean for a misspelled variable', () => {
    expect(errorOf(() => renderString('{{ nme }}', vars)).hint).toBe("did you mean 'name'?");
  });
});

describe('renderValue', () => {
  test('renders strings deeply and keeps other values', () => {
    const value = { url: '{{ registry.url }}', list: ['{{ name }}', 1, { deep: '{{ hosts | length }}' }], flag: false };
    expect(renderValue(value, vars)).toEqual({ url: 'https://mirror:5000', list: ['web', 1, { deep: 3 }], flag: false });
  });

  test('returns unchanged parts as they are', () => {
    const value = { a: ['x', { b: 1 }] };
    expect(renderValue(value, vars)).toBe(value);
  });

  test('errors point at the key of the string in the YAML file', () => {
    const [task] = parseYaml('name: install\ncopy:\n  dest: /etc/x\n  content: "{{ contnt }}"\n', 'tasks.yml') as [Record<string, unknown>];
    const error = errorOf(() => renderValue(task, { content: 'x' }));
    expect(error.describe()).toBe("tasks.yml:4:3: 'contnt' is undefined\n  hint: did you mean 'content'?");
  });

  test('rendered objects keep their source positions', () => {
    const [task] = parseYaml('copy:\n  dest: "{{ name }}"\n', 'tasks.yml') as [Record<string, unknown>];
    const rendered = renderValue(task, vars) as Record<string, Record<string, unknown>>;
    expect(rendered.copy!.dest).toBe('web');
    expect(positionOf(rendered.copy, 'dest')).toEqual({ file: 'tasks.yml', line: 2, col: 3 });
  });
});

describe('renderTemplate: Jinja tags', () => {
  test('if / elif / else with trim_blocks', () => {
    const template = '{% if port > 6000 %}\nbig\n{% elif port > 1000 %}\nmedium\n{% else %}\nsmall\n{% endif %}\nend\n';
    expect(renderTemplate(template, vars, 't.j2')).toBe('medium\nend\n');
  });

  test('for loops with loop variables, unpacking and else', () => {
    const template = '{% for u in users %}{{ loop.index }}/{{ loop.length }} {{ u.name }}{% if not loop.last %}, {% endif %}{% endfor %}';
    expect(renderTemplate(template, vars, 't.j2')).toBe('1/2 alice, 2/2 bob');
    expect(renderTemplate('{% for k, v in registry.items() %}{{ k }}={{ v | length }};{% endfor %}', vars, 't.j2')).toBe('url=19;ca=11;');
    expect(renderTemplate('{% for x in [] %}{{ x }}{% else %}none{% endfor %}', vars, 't.j2')).toBe('none');
  });

  test('nested loops see outer loop variables and the root variables', () => {
    const template = '{% for u in users %}{% for h in hosts %}{{ u.name }}@{{ h }}.{{ name }} {% endfor %}{% endfor %}';
    expect(renderTemplate(template, vars, 't.j2')).toBe('alice@a.web alice@b.web alice@c.web bob@a.web bob@b.web bob@c.web ');
  });

  test('set, comments, raw and whitespace control', () => {
    expect(renderTemplate('{% set greeting = "hi " ~ name %}{{ greeting }}', vars, 't.j2')).toBe('hi web');
    expect(renderTemplate('a{# note #}b\n{# whole line #}\nc', vars, 't.j2')).toBe('ab\nc');
    expect(renderTemplate('{% raw %}{{ not rendered }}{% endraw %}', vars, 't.j2')).toBe('{{ not rendered }}');
    expect(renderTemplate('a   {%- if true -%}   b   {%- endif %}', vars, 't.j2')).toBe('ab');
    expect(renderTemplate('x  {{- name -}}  y', vars, 't.j2')).toBe('xweby');
  });

  test('a containerd hosts.toml', () => {
    const template = [
      'server = "https://registry-1.docker.io"',
      '',
      '{% for h in hosts %}',
      '[host."http://{{ h }}:{{ port }}"]',
      '  capabilities = ["pull", "resolve"]',
      '{% endfor %}',
      '',
    ].join('\n');
    expect(renderTemplate(template, { hosts: ['10.0.0.5'], port: 5000 }, 'hosts.toml.j2')).toBe(
      'server = "https://registry-1.docker.io"\n\n[host."http://10.0.0.5:5000"]\n  capabilities = ["pull", "resolve"]\n',
    );
  });
});

describe('renderTemplate: Handlebars blocks', () => {
  test('if / else / unless with tsrun expressions as the argument', () => {
    expect(renderTemplate('{{#if port > 1000}}high{{else}}low{{/if}}', vars, 't.hbs')).toBe('high');
    expect(renderTemplate('{{#if hosts | length > 5}}many{{else if hosts}}some{{else}}none{{/if}}', vars, 't.hbs')).toBe('some');
    expect(renderTemplate('{{#unless nothing}}unset{{/unless}}', vars, 't.hbs')).toBe('unset');
    // Python truthiness: an empty dict is false.
    expect(renderTemplate('{{#if empty}}yes{{else}}no{{/if}}', { empty: {} }, 't.hbs')).toBe('no');
  });

  test('each sees the item fields, @index, this, and the root variables', () => {
    expect(renderTemplate('{{#each users}}{{ @index }}:{{ name }}:{{ shell | basename }} {{/each}}', vars, 't.hbs')).toBe('0:alice:bash 1:bob:sh ');
    expect(renderTemplate('{{#each hosts}}{{ this | upper }}{{#if @last}}.{{else}},{{/if}}{{/each}}', vars, 't.hbs')).toBe('A,B,C.');
    expect(renderTemplate('{{#each hosts as |h i|}}{{ i }}{{ h }}{{ port }} {{/each}}', vars, 't.hbs')).toBe('0a5000 1b5000 2c5000 ');
    expect(renderTemplate('{{#each registry}}{{ @key }} {{/each}}', vars, 't.hbs')).toBe('url ca ');
  });

  test('with and comments', () => {
    expect(renderTemplate('{{#with registry}}{{ url }}{{/with}}{{!-- gone --}}{{! also gone }}', vars, 't.hbs')).toBe('https://mirror:5000');
  });

  test('block lines on their own disappear, as Handlebars does', () => {
    expect(renderTemplate('a\n{{#if true}}\nb\n{{/if}}\nc\n', vars, 't.hbs')).toBe('a\nb\nc\n');
  });

  test('no HTML escaping', () => {
    expect(renderTemplate('{{ "<a & b>" }}', vars, 't.hbs')).toBe('<a & b>');
  });
});

describe('renderTemplate errors', () => {
  test('an undefined variable names the template file, line and column', () => {
    const error = errorOf(() => renderTemplate('line one\n{% for u in users %}\n  user {{ u.nam }}\n{% endfor %}\n', vars, 'templates/users.j2'));
    expect(error).toBeInstanceOf(UndefinedVariableError);
    expect(error.describe()).toBe("templates/users.j2:3:11: 'u.nam' is undefined: 'u' has no attribute 'nam'\n  hint: did you mean 'name'?");
  });

  test('a syntax error in an expression points at its column in the file', () => {
    const error = errorOf(() => renderTemplate('ok\n  {{ port + }}\n', vars, 'x.j2'));
    expect(error).toBeInstanceOf(TemplateSyntaxError);
    // The expression starts at column 6; the parser stops at its column 7, after the '+'.
    expect(error.pos).toEqual({ file: 'x.j2', line: 2, col: 12 });
    expect(error.message).toContain('expected a value, found end of expression');
  });

  test('mismatched and unclosed blocks', () => {
    expect(errorOf(() => renderTemplate('{% if a %}\n{% endfor %}', vars, 'b.j2')).describe()).toBe(
      'b.j2:2:1: template: {% endfor %} does not close {% if %} opened at line 1:1',
    );
    const unclosed = errorOf(() => renderTemplate('x\n{% for a in hosts %}\n', vars, 'c.j2'));
    expect(unclosed.describe()).toBe('c.j2:2:1: template: {% for %} opened at line 2:1 is never closed\n  hint: add {% endfor %}');
    expect(errorOf(() => renderTemplate('{{/if}}', vars, 'd.hbs')).message).toContain('{{/if}} without an open block');
    expect(errorOf(() => renderTemplate('{% elif x %}', vars, 'e.j2')).message).toContain('{% elif %} outside {% if %}');
  });

  test('unsupported tags and helpers say what is supported', () => {
    const macro = errorOf(() => renderTemplate('\n  {% macro m() %}', vars, 'm.j2'));
    expect(macro.describe()).toContain("m.j2:2:3: template: unsupported tag '{% macro %}'");
    expect(errorOf(() => renderTemplate('{{#custom x}}{{/custom}}', vars, 'h.hbs')).message).toContain("unknown block helper '{{#custom}}'");
  });

  test('compiled templates are reused across variables', () => {
    const template = '{{ name }}:{{ port }}';
    expect(renderTemplate(template, { name: 'a', port: 1 }, 't')).toBe('a:1');
    expect(renderTemplate(template, { name: 'b', port: 2 }, 't')).toBe('b:2');
  });
});
