/**
 * The arguments user data passes to `kubeaz-agent.mjs boot`: the words after it on its `exec` line
 * (continued with a backslash), single-quoted words unquoted as the shell does; `${root:+…}` is
 * boot-sim's own --root and left out.
 */
export function agentArgsOfUserData(userData: string): string[] {
  const m = /kubeaz-agent\.mjs" boot ((?:\\\n|[^\n])*)/.exec(userData);
  if (!m) throw new Error('the user data runs no `kubeaz-agent.mjs boot`');
  const line = m[1]!.replace(/\\\n\s*/g, ' ').replace(/\$\{root:\+[^}]*\}/, '');
  const words: string[] = [];
  const re = /\s*((?:'[^']*'|\\'|[^\s'\\])+)/g;
  let w: RegExpExecArray | null;
  while ((w = re.exec(line)) && w[1])
    words.push(w[1].replace(/'([^']*)'|\\(')/g, (_, q: string | undefined, e: string | undefined) => q ?? e ?? ''));
  return words;
}
