/**
 * Models sometimes write "// ... rest of the code unchanged ..." instead of the code, which silently deletes
 * it. A write or edit whose new text holds such a line (one the file did not have already) is refused with
 * an explanation, so the model writes the whole text.
 */

/** A comment marker that opens a placeholder line. */
const COMMENT = String.raw`(?:\/\/+|#+|\/\*+|\*|<!--|--|;+|\{\/\*)`;
const WHAT = String.raw`(?:code|file|implementation|content|contents|methods?|functions?|class|component|logic|tests?|routes?|lines?|imports?|properties|fields|handlers?|body|styles?|markup|config(?:uration)?|definitions?)`;

const PATTERNS: RegExp[] = [
  // "// ... rest of the code ...", "# ... existing code ...", "{/* ... other items ... */}"
  new RegExp(String.raw`^\s*${COMMENT}\s*(?:\.{3}|…)\s*\(?\s*(?:the\s+)?(?:rest|remaining|remainder|existing|previous|other|unchanged|same|original|omitted|more)\b`, 'i'),
  // "... rest of the code" without a comment marker (spread syntax "...rest" has no space, and is not matched)
  new RegExp(String.raw`^\s*(?:\.{3}|…)\s+(?:the\s+)?(?:rest|remaining|remainder|existing|previous|unchanged)\s+(?:of\s+(?:the\s+)?)?${WHAT}\b`, 'i'),
  // "// rest of the file unchanged", "# remainder of the code"
  new RegExp(String.raw`^\s*${COMMENT}\s*(?:the\s+)?(?:rest|remainder)\s+of\s+(?:the\s+)?${WHAT}\b`, 'i'),
  // "/* existing code here */", "# remaining methods ..." (the phrase alone on its line)
  new RegExp(String.raw`^\s*${COMMENT}\s*(?:the\s+)?(?:remaining|existing|previous|other|original)\s+${WHAT}(?:\s+(?:here|goes\s+here|unchanged|as\s+before|omitted))?\s*(?:\.{3}|…)?\s*(?:\*\/|-->|\*\/\})?\s*$`, 'i'),
  // "// (the) code remains unchanged", "# everything else stays the same"
  new RegExp(String.raw`^\s*${COMMENT}\s*(?:the\s+)?(?:${WHAT}|everything(?:\s+else)?|all\s+else)\s+(?:\w+\s+){0,3}?(?:remains?|stays?|is|are|kept|left)\s+(?:the\s+same|unchanged|as\s+(?:before|is))\b`, 'i'),
  new RegExp(String.raw`^\s*${COMMENT}\s*(?:\.{3}|…)?\s*(?:unchanged|same as before|as before|code omitted|omitted for brevity|for brevity)\b`, 'i'),
  // A bare "// ..." or "# ..." line.
  new RegExp(String.raw`^\s*(?:\/\/+|#+|\/\*+|<!--|\{\/\*)\s*(?:\.{3}|…)\s*(?:\*\/|-->|\*\/\})?\s*$`),
];

/** The first placeholder line of `text` that `before` does not contain already, or null. */
export function findPlaceholder(text: string, before: string | null = null): string | null {
  const known = before === null ? null : new Set(before.split('\n').map((line) => line.trim()));
  for (const line of text.split('\n')) {
    if (line.length > 300) continue;
    if (!PATTERNS.some((pattern) => pattern.test(line))) continue;
    if (known?.has(line.trim())) continue;
    return line.trim();
  }
  return null;
}

export function placeholderMessage(tool: string, line: string): string {
  return (
    `${tool} refused: the new text contains the placeholder line ${JSON.stringify(line)}. ` +
    'Placeholders are written into the file literally and delete the code they stand for. ' +
    (tool === 'write_file'
      ? 'Write the complete file content, or use edit_file to change only a part of it.'
      : 'Give the complete replacement text in new_text; to change a small part, make old_text just that part.')
  );
}
