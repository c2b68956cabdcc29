/**
 * A tool call's arguments as the model streamed them (a JSON text) made into the call's input. Models sometimes
 * send broken JSON: that must not crash the turn. The call keeps a marked input instead, which no tool's schema
 * accepts and which `unparsedToolInput` recognises, so the loop can tell the model what was wrong.
 */

export interface UnparsedToolInput {
  /** The arguments exactly as the model sent them. */
  _unparsedArguments: string;
  _parseError: string;
}

export function parseToolArguments(text: string): Record<string, unknown> | UnparsedToolInput {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
    // Some OpenAI-compatible servers encode the arguments twice: a JSON string holding the JSON object.
    if (typeof value === 'string') value = JSON.parse(value);
  } catch (err) {
    return { _unparsedArguments: text, _parseError: `the arguments are not valid JSON (${(err as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { _unparsedArguments: text, _parseError: 'the arguments must be a JSON object' };
  }
  return value as Record<string, unknown>;
}

/** The reason a call's input could not be read, worded for the model; undefined for a normal input. */
export function unparsedToolInput(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || !('_unparsedArguments' in input)) return undefined;
  const { _parseError: error } = input as UnparsedToolInput;
  return `The tool was not run: ${error}. Call it again with the arguments as one JSON object matching its input schema.`;
}
