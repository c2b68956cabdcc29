/** A writable that redacts secret values from a command's output on its way to another writable (exec streams). */
import { Writable } from 'node:stream';
import type { Redactor } from '../../lib/redactor.js';

export interface RedactingWritable extends Writable {
  /** Writes what was held back (a possible beginning of a value) once the command ended: no more output comes. */
  drainHeld(): Promise<void>;
}

export function redactingWritable(target: Writable, redactor: Redactor): RedactingWritable {
  const stream = redactor.byteStream();
  const writable = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const out = stream.push(chunk);
      if (out.length > 0) target.write(out);
      done();
    },
  }) as RedactingWritable;
  writable.drainHeld = async () => {
    // Output written before the exit is processed first (writes are queued in order).
    await new Promise<void>((resolve) => writable.write(Buffer.alloc(0), () => resolve()));
    const rest = stream.end();
    if (rest.length > 0) target.write(rest);
  };
  return writable;
}
