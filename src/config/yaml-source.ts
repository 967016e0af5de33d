// YAML files that people write by hand (the config, a static inventory):
// parsed with line positions kept, so every error can name the line.

import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { ConfigError } from '../errors.js';

export interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
  /** The document as plain data; always a mapping. */
  data: Record<string, unknown>;
}

/** Parses a YAML mapping; broken YAML or a non-mapping is a ConfigError naming the line. */
export function parseYamlSource(file: string, text: string, whatItIs: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problem = doc.errors[0];
  if (problem) {
    const line = problem.linePos?.[0]?.line ?? (problem.pos ? lines.linePos(problem.pos[0]).line : undefined);
    throw new ConfigError(file, line, undefined, `not valid YAML: ${problem.message.split('\n')[0]}`);
  }
  const data: unknown = doc.toJS() ?? {};
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(file, 1, undefined, whatItIs);
  }
  return { file, doc, lines, data: data as Record<string, unknown> };
}

/** The line of `path` in the document: the key's line, or that of the deepest part that exists. */
export function lineOf(src: Pick<YamlSource, 'doc' | 'lines'>, path: ReadonlyArray<string | number>): number | undefined {
  let current = src.doc.contents as YamlNode | null | undefined;
  let best = current?.range ? src.lines.linePos(current.range[0]).line : undefined;
  for (const segment of path) {
    if (isMap(current)) {
      const pair = current.items.find((it) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === String(segment));
      if (!pair) return best;
      const keyNode = pair.key as YamlNode | undefined;
      if (keyNode?.range) best = src.lines.linePos(keyNode.range[0]).line;
      current = pair.value as YamlNode | null;
    } else if (isSeq(current)) {
      current = current.items[Number(segment)] as YamlNode | undefined;
      if (!current) return best;
      if (current.range) best = src.lines.linePos(current.range[0]).line;
    } else {
      return best;
    }
  }
  return best;
}
