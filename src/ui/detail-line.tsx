// One line under a table that spells out the selected row in full: what the
// narrow columns had to cut ("✗ CRIT lag 340 s > 300 s", the probe error, the
// instance id) is readable here at 80 columns.

import { Text } from 'ink';
import { fit } from './format.js';

export interface DetailLineProps {
  text: string;
  width: number;
  colour?: string;
}

export function DetailLine({ text, width, colour }: DetailLineProps) {
  return (
    <Text wrap="truncate" color={colour}>
      {fit(`» ${text}`, width)}
    </Text>
  );
}
