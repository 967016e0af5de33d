// One runbook's parameters for one cluster, as a form made from the catalog.
// ⏎ hands the answers to the console, which runs preflight and shows the plan
// on the run screen: the plan and its gates still stand between this form
// and any change. Esc goes back to the list.

import { Box, Text } from 'ink';
import { useCallback, useMemo, useRef } from 'react';
import { catalogEntry, type ChoiceOption, type Field } from '../../actions/runbooks/catalog.js';
import { useClock, useFleet, useUi, useUiStore } from '../../store/context.js';
import { selectCluster, selectIsScopeShown } from '../../store/fleet.js';
import { shownName } from '../../ui/cluster-name.js';
import type { ScopedName } from '../../domain/scope.js';
import { EMPTY_FORM, screenKey, type FormData } from '../../store/ui.js';
import { windowStart } from '../../ui/columns.js';
import { fit, wrap } from '../../ui/format.js';
import { capLines, detailLines, TextLines, type TextLine } from '../../ui/detail-line.js';
import { Line, type Segment } from '../../ui/line.js';
import { CHECK_GLYPH, CHOICE_GLYPH, OFFER_GLYPH, STEP_GLYPH } from '../../ui/status-glyphs.js';
import { TitleLine } from '../../ui/title-line.js';
import { useConsole } from '../console-context.js';
import { cursorRow, formRows, formValues, type FormRow } from './form-state.js';
import { useFormKeys } from './use-form-keys.js';

export interface RunbookFormProps {
  /** The cluster's key (clusterKey). */
  cluster: string;
  runbook: string;
  width: number;
  height: number;
  isActive: boolean;
}

const NO_FIELDS: Field[] = [];

export function RunbookForm({ cluster: key, runbook, width, height, isActive }: RunbookFormProps) {
  const selectThis = useMemo(() => selectCluster(key), [key]);
  const cluster = useFleet(selectThis);
  const isScopeShown = useFleet(selectIsScopeShown);
  const name = cluster ? shownName(cluster, isScopeShown) : key;
  const ui = useUiStore();
  const clock = useClock();
  const { thresholds, onRunbook } = useConsole();
  const screen = screenKey({ kind: 'runbook-form', cluster: key, runbook });
  const form = useUi((s) => s.forms[screen] ?? EMPTY_FORM);
  const entry = catalogEntry(runbook);

  const gcGraceSeconds = thresholds.gcGraceSeconds;
  // Made afresh from each refresh of the cluster: the answers are kept as values, so they survive it.
  const { fields, offer } = useMemo(() => {
    if (!entry || !cluster) return { fields: NO_FIELDS, offer: undefined };
    const ctx = { now: clock(), gcGraceSeconds };
    return { fields: entry.fields(cluster, ctx), offer: entry.offer(cluster, ctx) };
  }, [entry, cluster, clock, gcGraceSeconds]);
  const rows = useMemo(() => formRows(fields), [fields]);
  const cursor = cursorRow(fields, form, rows);

  const submit = useCallback(() => {
    const { actions, forms } = ui.getState();
    const now = forms[screen] ?? EMPTY_FORM;
    if (!entry || !cluster || now.status === 'planning') return;
    const set = (next: (f: FormData) => FormData) => actions.setForm(screen, next(ui.getState().forms[screen] ?? EMPTY_FORM));
    if (!onRunbook) {
      set((f) => ({ ...f, status: 'failed', message: 'this console was started without a runbook runner' }));
      return;
    }
    const params = entry.toParams(cluster.name, formValues(fields, now));
    set((f) => ({ values: f.values, ...(f.focus !== undefined ? { focus: f.focus } : {}), status: 'planning' }));
    Promise.resolve()
      // The cluster whole (name, region, account): the run params name the one chosen, never a guess by name.
      .then(() => onRunbook(runbook, scopedName(cluster), params))
      .then(
        // The run screen is on top now; back from it, the form is ready for another go.
        () => set((f) => (f.status === 'planning' ? { ...f, status: 'editing' } : f)),
        (err: unknown) => set((f) => ({ ...f, status: 'failed', message: err instanceof Error ? err.message : String(err) })),
      );
  }, [ui, screen, entry, cluster, fields, onRunbook, runbook]);

  const statusLines = formStatus(form, runbook, name, width);
  // Why it applies, or why not, whole: a reason cut off at 80 columns is the part that mattered.
  const offerLines = offer
    ? wrap(`${offer.applies ? OFFER_GLYPH.applies : OFFER_GLYPH.notNow} ${offer.reason}`, Math.max(10, width - 2))
        .slice(0, 2)
        .map((l, i) => (i > 0 ? `  ${l}` : l))
    : [];
  const labelWidth = Math.min(26, Math.max(0, ...rows.map((r) => (r.kind === 'option' ? r.option.label.length : 0))));
  // The row under the cursor in full when its line cuts it (a long label, its detail, why it is not available).
  const atCursor = rows[cursor];
  const cursorDetail = atCursor ? capLines(cursorRowDetail(atCursor, labelWidth, width), 3, (n) => `  … ${n} more lines`) : [];
  const rowsHeight = Math.max(1, height - 1 - offerLines.length - statusLines.length - cursorDetail.length);
  useFormKeys({ screen, fields, pageSize: Math.max(1, rowsHeight - 1), isActive, onSubmit: submit });

  const startRef = useRef(0);
  const title = `Fleet › ${name} › ${runbook}`;
  if (!cluster || !entry) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <TitleLine title={title} width={width} />
        <Text color="yellow" wrap="wrap">
          {!entry
            ? `▲ no runbook "${runbook}" in this console. esc goes back.`
            : `▲ cluster ${name} is not in the last refresh (renamed, or its instances are gone). esc goes back.`}
        </Text>
      </Box>
    );
  }

  const start = windowStart(startRef.current, cursor, rowsHeight, rows.length);
  startRef.current = start;
  const values = formValues(fields, form);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <TitleLine title={title} detail={entry.title} width={width} />
      {offerLines.map((l, i) => (
        <Line key={`w${i}`} segments={[{ text: fit(l, width, 'left', false), colour: offer?.applies ? 'yellow' : undefined }]} width={width} />
      ))}
      <Box flexDirection="column" height={Math.min(rowsHeight, Math.max(1, rows.length))} overflowY="hidden">
        {rows.slice(start, start + rowsHeight).map((row, i) => (
          <Line key={`${row.field}:${row.kind === 'option' ? row.option.value : row.kind}`} segments={rowSegments(row, start + i === cursor, values, labelWidth, width)} width={width} />
        ))}
      </Box>
      <TextLines lines={cursorDetail} width={width} />
      {statusLines.map((l, i) => (
        <Line key={`s${i}`} segments={[{ text: l.text, colour: l.colour }]} width={width} />
      ))}
    </Box>
  );
}

/** Name, region and account of a cluster: which one the run is for, and nothing else of its view. */
function scopedName(c: ScopedName): ScopedName {
  return { name: c.name, ...(c.region !== undefined ? { region: c.region } : {}), ...(c.account !== undefined ? { account: c.account } : {}) };
}

function rowSegments(row: FormRow, isCursor: boolean, values: Record<string, string | boolean>, labelWidth: number, width: number): Segment[] {
  const marker = isCursor ? '› ' : '  ';
  let text: string;
  let colour: string | undefined;
  switch (row.kind) {
    case 'label':
      return [{ text: fit(row.text, width, 'left', false), isBold: true }];
    case 'option':
      text = optionText(row.option, values[row.field] === row.option.value, labelWidth);
      if (row.option.disabled !== undefined) colour = 'gray';
      break;
    case 'boolean':
      text = `[${values[row.field] ? 'x' : ' '}] ${row.label}`;
      break;
    case 'text':
      text = `${row.label}: ${String(values[row.field] ?? '')}${isCursor ? '▏' : ''}`;
      break;
  }
  // The whole width inverse on the cursor row, as the tables do; the marker says it without colour.
  return [{ text: fit(`${marker}${text}`, width, 'left', isCursor), colour, isInverse: isCursor }];
}

/** The cursor's row whole, wrapped, when its line at this width would cut it; nothing when it fits. */
function cursorRowDetail(row: FormRow, labelWidth: number, width: number): TextLine[] {
  if (row.kind !== 'option') return [];
  const { option } = row;
  const line = `  ${optionText(option, false, labelWidth)}`;
  if (Array.from(line).length <= width && Array.from(option.label).length <= labelWidth) return [];
  const text = option.disabled !== undefined ? `${option.label}: not available: ${option.disabled}` : `${option.label}${option.detail ? `: ${option.detail}` : ''}`;
  return detailLines(text, width, option.disabled !== undefined ? 'gray' : undefined);
}

function optionText(option: ChoiceOption, isChosen: boolean, labelWidth: number): string {
  if (option.disabled !== undefined) return `${CHOICE_GLYPH.unavailable} ${fit(option.label, labelWidth)}  not available: ${option.disabled}`;
  return `${isChosen ? CHOICE_GLYPH.chosen : CHOICE_GLYPH.notChosen} ${fit(option.label, labelWidth)}${option.detail ? `  ${option.detail}` : ''}`;
}

/** Under the fields: what ⏎ will do, that it is doing it, or why it could not. */
function formStatus(form: FormData, runbook: string, cluster: string, width: number): Array<{ text: string; colour?: string }> {
  const line = (text: string, colour?: string) => ({ text: fit(text, width, 'left', false), ...(colour ? { colour } : {}) });
  switch (form.status) {
    case 'planning':
      return [line(`${STEP_GLYPH.running} preflight and plan for ${runbook} on ${cluster}… (esc leaves it)`, 'cyan')];
    case 'failed':
      return wrap(`${CHECK_GLYPH.failed} could not plan ${runbook} on ${cluster}: ${form.message ?? 'no reason given'}`, width)
        .slice(0, 3)
        .map((t) => line(t, 'red'));
    case 'editing':
      return [line('⏎ plan: preflight, then the plan to read; nothing runs until you start it')];
  }
}
