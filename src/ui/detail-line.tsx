// One line under a table that spells out the selected row in full: what the
// narrow columns had to cut ("✗ CRIT lag 340 s > 300 s", the probe error, the
// instance id) is readable here at 80 columns.

import { fit } from './format.js';
import { Line } from './line.js';

export interface DetailLineProps {
  text: string;
  width: number;
  colour?: string;
}

export function DetailLine({ text, width, colour }: DetailLineProps) {
  return <Line segments={[{ text: fit(`» ${text}`, width, 'left', false), colour }]} width={width} />;
}
