/**
 * Shell completion scripts generated from the commander program itself (so they never drift from
 * the CLI): subcommands with their descriptions, each subcommand's flags, the values of flags with
 * fixed choices, and `-f/--file` completing *.yaml / *.yml files. PURE: program in, script out.
 */
import type { Command, Option } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Flag {
  short?: string;
  long?: string;
  description: string;
  takesValue: boolean;
  choices?: readonly string[];
  yaml: boolean;
}
interface Sub {
  name: string;
  description: string;
  flags: Flag[];
  /** fixed positional values (completion's shells) */
  args?: readonly string[];
}

function flagsOf(cmd: Command): Flag[] {
  const opts = (cmd.options as readonly Option[]).filter((o) => !o.hidden);
  const flags: Flag[] = opts.map((o) => ({
    ...(o.short ? { short: o.short } : {}),
    ...(o.long ? { long: o.long } : {}),
    description: o.description,
    takesValue: o.required || o.optional,
    ...(o.argChoices ? { choices: o.argChoices } : {}),
    yaml: o.long === '--file',
  }));
  return [...flags, { short: '-h', long: '--help', description: 'display help for command', takesValue: false, yaml: false }];
}

function model(program: Command): Sub[] {
  return (program.commands as readonly Command[]).map((c) => ({
    name: c.name(),
    description: c.description(),
    flags: flagsOf(c),
    ...(c.name() === 'completion' ? { args: SHELLS } : {}),
  }));
}

const firstSentence = (s: string) => (s.split(/[;(]/)[0] ?? s).trim().slice(0, 80);

export function completionScript(program: Command, shell: Shell): string {
  const subs = model(program);
  const name = program.name();
  if (shell === 'bash') return bash(name, subs);
  if (shell === 'zsh') return zsh(name, subs);
  return fish(name, subs);
}

function bash(name: string, subs: Sub[]): string {
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}_completion`;
  const cases = subs
    .map((s) => {
      const all = s.flags.flatMap((f) => [f.short, f.long].filter(Boolean)).join(' ');
      const valueCases = s.flags
        .filter((f) => f.takesValue)
        .map((f) => {
          const pat = [f.short, f.long].filter(Boolean).join('|');
          if (f.yaml) return `        ${pat}) _kubeaz_yaml_files; return ;;`;
          if (f.choices) return `        ${pat}) mapfile -t COMPREPLY < <(compgen -W "${f.choices.join(' ')}" -- "$cur"); return ;;`;
          return `        ${pat}) compopt -o default; COMPREPLY=(); return ;;`;
        });
      const args = s.args
        ? `\n      if [[ "$cur" != -* ]]; then mapfile -t COMPREPLY < <(compgen -W "${s.args.join(' ')}" -- "$cur"); return; fi`
        : '';
      return `    ${s.name})\n      case "$prev" in\n${valueCases.join('\n')}${valueCases.length ? '\n' : ''}      esac${args}\n      mapfile -t COMPREPLY < <(compgen -W "${all}" -- "$cur") ;;`;
    })
    .join('\n');
  return `# ${name} completion for bash. Load it with:  source <(${name} completion bash)
# or install it:  ${name} completion bash > ~/.local/share/bash-completion/completions/${name}
_kubeaz_yaml_files() {
  compopt -o filenames 2>/dev/null
  mapfile -t COMPREPLY < <(compgen -f -X '!*.yaml' -- "$cur"; compgen -f -X '!*.yml' -- "$cur"; compgen -d -- "$cur")
}
${fn}() {
  local cur prev sub i
  COMPREPLY=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  sub=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      -*) ;;
      *) sub="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$sub" in
    "")
      mapfile -t COMPREPLY < <(compgen -W "${subs.map((s) => s.name).join(' ')} -V --version -h --help" -- "$cur") ;;
${cases}
  esac
}
complete -F ${fn} ${name}
`;
}

const zq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const zdesc = (s: string) => firstSentence(s).replace(/\[/g, '(').replace(/\]/g, ')').replace(/:/g, '\\:');

function zsh(name: string, subs: Sub[]): string {
  const spec = (f: Flag): string => {
    const names = [f.short, f.long].filter(Boolean) as string[];
    const action = f.yaml
      ? ":file:_files -g '*.(yaml|yml)'"
      : f.choices
        ? `:value:(${f.choices.join(' ')})`
        : f.takesValue
          ? ':value:_default'
          : '';
    const body = `[${zdesc(f.description)}]${action}`;
    if (names.length === 2) return `'(${names.join(' ')})'{${names.join(',')}}${zq(body)}`;
    return zq(`${names[0]}${body}`);
  };
  const cases = subs
    .map(
      (s) =>
        `        ${s.name})\n          _arguments -s \\\n            ${[...s.flags.map(spec), ...(s.args ? [zq(`1:shell:(${s.args.join(' ')})`)] : [])].join(' \\\n            ')} ;;`,
    )
    .join('\n');
  return `#compdef ${name}
# ${name} completion for zsh. Load it with:  source <(${name} completion zsh)
# or install it as _${name} in a directory of your $fpath.
_${name}() {
  local context state state_descr line
  typeset -A opt_args
  local -a commands
  commands=(
${subs.map((s) => `    ${zq(`${s.name}:${zdesc(s.description)}`)}`).join('\n')}
  )
  _arguments -C \\
    '(-V --version)'{-V,--version}'[output the version number]' \\
    '(-h --help)'{-h,--help}'[display help]' \\
    '1: :->command' \\
    '*:: :->args'
  case $state in
    command)
      _describe -t commands '${name} command' commands ;;
    args)
      case $words[1] in
${cases}
      esac ;;
  esac
}
if [ "$funcstack[1]" = "_${name}" ]; then
  _${name} "$@"
else
  compdef _${name} ${name}
fi
`;
}

const fq = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fish(name: string, subs: Sub[]): string {
  const lines = [
    `# ${name} completion for fish. Load it with:  ${name} completion fish | source`,
    `# or install it:  ${name} completion fish > ~/.config/fish/completions/${name}.fish`,
    `complete -c ${name} -f`,
    `complete -c ${name} -n __fish_use_subcommand -s V -l version -d 'output the version number'`,
    ...subs.map((s) => `complete -c ${name} -n __fish_use_subcommand -a ${s.name} -d ${fq(firstSentence(s.description))}`),
  ];
  for (const s of subs) {
    const cond = `-n '__fish_seen_subcommand_from ${s.name}'`;
    for (const f of s.flags) {
      const names = [f.short ? `-s ${f.short.slice(1)}` : '', f.long ? `-l ${f.long.slice(2)}` : ''].filter(Boolean).join(' ');
      const value = f.yaml
        ? `-r -a '(__fish_complete_suffix .yaml; __fish_complete_suffix .yml)'`
        : f.choices
          ? `-x -a ${fq(f.choices.join(' '))}`
          : f.takesValue
            ? '-r -F'
            : '';
      lines.push(`complete -c ${name} ${cond} ${names} ${value}${value ? ' ' : ''}-d ${fq(firstSentence(f.description))}`);
    }
    if (s.args) lines.push(`complete -c ${name} ${cond} -a ${fq(s.args.join(' '))}`);
  }
  return `${lines.join('\n')}\n`;
}
