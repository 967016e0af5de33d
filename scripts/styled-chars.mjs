// Ink turns every line of every frame back into text with ansi-tokenize's
// styledCharsToString, which works out the escape codes between each
// character and the next with diffAnsiCodes: three Sets and four arrays a
// character, some 15 ms for the first 80x24 frame (before V8 has optimised
// it) and 5 ms for each full screen after. Neighbours almost always share
// their style (a word, a run of blanks), and then that diff is empty,
// whatever the styles are. The build skips it in that case, and at the end
// of a line that has no style to reset: the first frame's share drops to
// ~4 ms, and Ink's output pass in bench/ui.ts from ~5 to ~2.8 ms a key
// press. Pure text transforms, so a test can check they still apply to what
// is installed. One that no longer applies fails the build (patch-check.mjs),
// naming `file` when the caller gives it (the path the bundler loaded).

import { lookFor } from './patch-check.mjs';

const BETWEEN = `        else {
            ret += ansiCodesToString(diffAnsiCodes(chars[i - 1].styles, char.styles));
        }`;
const AT_END = 'if (i === chars.length - 1) {';
const FUNCTION = 'export function styledCharsToString(chars) {';

/**
 * @alcalzone/ansi-tokenize's styled-chars module with the diff skipped where
 * it is empty: between two characters of the same styles (the same codes in
 * the same order), and after a last character without styles. Throws when
 * the code is not what it was.
 */
export function skipUnchangedStyles(source, file = "@alcalzone/ansi-tokenize's build/styledChars.js") {
  lookFor('scripts/styled-chars.mjs', file, source, [BETWEEN, AT_END, FUNCTION]);
  const sameStyles = `// Added by nightshift's build (scripts/styled-chars.mjs): styles that diff to nothing.
function sameStyles(a, b) {
    if (a.length !== b.length)
        return false;
    for (let i = 0; i < a.length; i++) {
        if (a[i].code !== b[i].code || a[i].endCode !== b[i].endCode)
            return false;
    }
    return true;
}
`;
  return source
    .replace(FUNCTION, `${sameStyles}${FUNCTION}`)
    .replace(BETWEEN, BETWEEN.replace('else {', 'else if (!sameStyles(chars[i - 1].styles, char.styles)) {'))
    .replace(AT_END, 'if (i === chars.length - 1 && char.styles.length > 0) {');
}
