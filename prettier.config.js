// Prettier (issue 22): `npm run format` rewrites, `npm run lint` checks. Chosen to match the code as
// written: single quotes, semicolons, trailing commas everywhere (Prettier 3's default), lines of
// at most 140 characters.
/** @type {import('prettier').Config} */
export default {
  printWidth: 140,
  singleQuote: true,
  // cluster.example.yaml is quoted the YAML way ("1.35.4") and docs/spec.md embeds it verbatim
  overrides: [{ files: '*.yaml', options: { singleQuote: false } }],
};
