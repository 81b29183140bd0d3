/** Outcome of one processing step: results are values, not exceptions used for control flow. */
export type Ok<T> = { kind: 'ok'; value: T };
/** Not recorded, for a reason the sender is not told (a visitor's choice, a bot, a page class). */
export type Dropped<R extends string = string> = { kind: 'drop'; reason: R };
/** Refused: the input itself is wrong, and the sender is told why. */
export type Invalid<R extends string = string> = { kind: 'invalid'; reason: R };

/** A processor step: a message is kept, dropped, or dead-lettered. */
export type StepResult<T> = Ok<T> | Dropped | { kind: 'dlq'; reason: string };
/** An edge (collector) de-identification step: a hit is kept, dropped, or refused as invalid. */
export type EdgeResult<T, D extends string = string, I extends string = string> = Ok<T> | Dropped<D> | Invalid<I>;

export const ok = <T>(value: T): Ok<T> => ({ kind: 'ok', value });
export const drop = <R extends string>(reason: R): Dropped<R> => ({ kind: 'drop', reason });
export const dlq = (reason: string): StepResult<never> => ({ kind: 'dlq', reason });
export const invalid = <R extends string>(reason: R): Invalid<R> => ({ kind: 'invalid', reason });
