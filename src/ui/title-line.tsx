// A screen's first line: where we are on the left, the cursor position on the right.

import { fit } from './format.js';
import { Line } from './line.js';

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
  const split = Math.min(title.length, left.length);
  return (
    <Line
      segments={[{ text: left.slice(0, split), isBold: true }, { text: `${left.slice(split)}${right ? ` ${right}` : ''}` }]}
      width={width}
    />
  );
}
