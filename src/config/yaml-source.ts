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
  const data: unknown = toData(file, doc, lines) ?? {};
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(file, 1, undefined, whatItIs);
  }
  return { file, doc, lines, data: data as Record<string, unknown> };
}

/**
 * The document as plain data. The yaml library refuses to expand more than a
 * hundred-odd aliases (a "billion laughs" file would take all memory); its
 * error names no file, so it becomes a ConfigError at the key that blows up.
 */
function toData(file: string, doc: Document, lines: LineCounter): unknown {
  try {
    return doc.toJS();
  } catch (err) {
    if (!(err instanceof ReferenceError) || !/alias/i.test(err.message)) throw err;
    const path = expandingPath(doc, doc.contents as YamlNode | null, []);
    throw new ConfigError(
      file,
      lineOf({ doc, lines }, path),
      path.join('.') || undefined,
      'too many aliases to expand (anchors within anchors, as in a "billion laughs" file); write the values out, or use fewer *aliases',
    );
  }
}

/** The deepest key or item whose value alone is too big to expand. */
function expandingPath(doc: Document, node: YamlNode | null, path: string[]): string[] {
  const children: Array<[string, unknown]> = isMap(node)
    ? node.items.map((it) => [isScalar(it.key) ? String(it.key.value) : String(it.key), it.value])
    : isSeq(node)
      ? node.items.map((it, i) => [String(i), it])
      : [];
  for (const [key, child] of children) {
    if (!child || typeof (child as YamlNode).toJS !== 'function') continue;
    try {
      (child as YamlNode).toJS(doc);
    } catch {
      return expandingPath(doc, child as YamlNode, [...path, key]);
    }
  }
  return path;
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
