/** Outcome of one processing step: results are values, not exceptions used for control flow. */
export type StepResult<T> =
  { kind: 'ok'; value: T } | { kind: 'drop'; reason: string } | { kind: 'dlq'; reason: string };

export const ok = <T>(value: T): StepResult<T> => ({ kind: 'ok', value });
export const drop = (reason: string): StepResult<never> => ({ kind: 'drop', reason });
export const dlq = (reason: string): StepResult<never> => ({ kind: 'dlq', reason });
