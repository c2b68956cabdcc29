/** Names and literals the Go files share. */
import { camel, type AggregateView } from '../ir-view.js';

/** A Go string literal: raw when possible (JSON escapes are valid Go escapes otherwise). */
export const goString = (s: string): string => (s.includes('`') ? JSON.stringify(s) : `\`${s}\``);

/** The Go variable holding an aggregate's data. */
export const varName = (a: AggregateView): string => `${camel(a.name)}Aggregate`;
