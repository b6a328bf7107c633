/**
 * Writes docs/triton-flags.md from the flag table (server/cli-flags.ts):
 *   npx ts-node scripts/triton-flags-doc.ts
 * test/server/cli-flags.test.ts fails when the file and the table disagree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FLAG_SPECS, FlagSpec } from '../server/cli-flags';

export const TRITON_FLAGS_DOC = path.resolve(__dirname, '../docs/triton-flags.md');

const STATUS: Record<FlagSpec['status'], string> = {
  supported: 'supported',
  ignored: 'accepted, no effect (warning)',
  refused: 'refused',
  partial: 'partial',
};

const cell = (text: string) => text.replace(/\|/g, '\\|');

function note(spec: FlagSpec): string {
  if (spec.status === 'partial') return `refused: ${spec.refusedValues} — ${spec.note}`;
  return spec.note;
}

export function tritonFlagsMarkdown(): string {
  const lines = [
    '# `tritonserver` flags',
    '',
    '<!-- Generated from server/cli-flags.ts by `npx ts-node scripts/triton-flags-doc.ts`; edit the table there. -->',
    '',
    "Every flag of Triton's `tritonserver` command line (its `command_line_parser.cc`, in its option groups), and what",
    '`inference-server` does with it, so manifests written for Triton start unchanged or fail with a reason:',
    '',
    '- **supported**: it means what it means in Triton.',
    "- **accepted, no effect (warning)**: it tunes something this server does not have; the value is checked as Triton",
    "  checks it and the server starts, logging one line: `Warning: '<flag>' has no effect on this server: <why>.`",
    '- **refused**: the server exits 2 with `Bad option: "<flag>".` and the reason.',
    '- **partial**: the values named are refused that way; the others are supported.',
    '',
    'Values are read as Triton reads them: `--flag=value` or `--flag value`; booleans `true`/`on`/`1`, `false`/`off`/`0`',
    '(a boolean flag given bare means `true`); a bad value stops the server with Triton\'s message',
    '(`Bad option: "--http-port".` / `Invalid option value. Got abc`). A flag that is in neither Triton nor this table',
    "stops it (exit 2) with one line naming the closest flag: `unknown option '--htp-port'; did you mean --http-port?`.",
    '',
  ];
  let group: string | undefined;
  for (const spec of FLAG_SPECS) {
    if (spec.group !== group) {
      group = spec.group;
      lines.push(`## ${group === '' ? 'General' : group}`, '', '| flag | status | notes |', '|---|---|---|');
    }
    lines.push(`| \`${spec.flag}\` | ${STATUS[spec.status]} | ${cell(note(spec))} |`);
    const next = FLAG_SPECS[FLAG_SPECS.indexOf(spec) + 1];
    if (!next || next.group !== group) lines.push('');
  }
  return lines.join('\n');
}

if (require.main === module) {
  fs.writeFileSync(TRITON_FLAGS_DOC, tritonFlagsMarkdown());
  process.stdout.write(`wrote ${path.relative(process.cwd(), TRITON_FLAGS_DOC)}\n`);
}
