// `nightshift show RUN [--markdown]`: one run's timeline from its journal,
// with per-step durations and the target recovery time, fit for a postmortem.

import type { Command } from 'commander';
import { loadRun } from '../actions/engine/history.js';
import { buildTimeline, timelineMarkdown, timelineText } from '../actions/headless/timeline.js';
import { jsonForTerminal } from '../domain/terminal-text.js';
import type { CommandContext, RegisterCommand } from './types.js';

export const register: RegisterCommand = (program: Command, ctx: CommandContext) => {
  program
    .command('show')
    .description("one run's timeline: steps, gates, durations, interruptions; --markdown for a postmortem")
    .argument('<run>', 'run id or a unique prefix (see `nightshift runs`)')
    .option('--markdown', 'print Markdown')
    .option('--json', "print the journal's records as a JSON array")
    .action(async (run: string, flags: { markdown?: boolean; json?: boolean }) => {
      await showCommand(ctx, run, flags);
    });
};

export async function showCommand(ctx: CommandContext, runId: string, flags: { markdown?: boolean; json?: boolean }): Promise<string> {
  const config = await ctx.loadConfig();
  const run = loadRun(config.stateDir, runId);
  let text: string;
  if (flags.json) {
    text = `${jsonForTerminal(run.journal.records, 2)}\n`;
  } else {
    const timeline = buildTimeline(run.view, run.journal.records, run.isLive);
    text = flags.markdown ? timelineMarkdown(timeline) + '\n' : timelineText(timeline);
    const notes: string[] = [];
    if (run.journal.torn) notes.push(`note: the journal's last line (line ${run.journal.torn.line}, ${run.journal.torn.bytes} bytes) was cut short when the run was interrupted`);
    for (const b of run.journal.bad) notes.push(`note: journal line ${b.line} is damaged (${b.problem}); the timeline above leaves it out. The line as it is: ${b.text}`);
    if (notes.length > 0) text += (flags.markdown ? '\n' : '') + notes.join('\n') + '\n';
  }
  ctx.io.stdout.write(text);
  return text;
}
