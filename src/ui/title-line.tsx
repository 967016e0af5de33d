// A screen's first line: where we are on the left, the cursor position on the right.

import { Text } from 'ink';
import { fit } from './format.js';

export interface TitleLineProps {
  title: string;
  detail?: string;
  position?: string;
  width: number;
}

export function TitleLine({ title, detail, position, width }: TitleLineProps) {
  const right = position ?? '';
  const room = Math.max(0, width - right.length - 1);
  const left = fit(detail ? `${title} · ${detail}` : title, room);
  return (
    <Text wrap="truncate">
      <Text bold>{left.slice(0, Math.min(title.length, left.length))}</Text>
      {left.slice(Math.min(title.length, left.length))}
      {right ? ` ${right}` : ''}
    </Text>
  );
}
