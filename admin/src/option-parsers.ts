// Parsers of option values shared by the command groups; a bad value is a usage error.
import { isMonth } from '@confidant/reporter';
import { UsageError } from './exit-codes.ts';

/** For repeatable options: each occurrence adds a value. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export const onOff = (v: string): boolean => {
  if (v !== 'on' && v !== 'off') throw new UsageError(`expected on or off, got ${v}`);
  return v === 'on';
};

export const month = (v: string): string => {
  if (!isMonth(v)) throw new UsageError(`month must be written YYYY-MM, got ${v}`);
  return v;
};

export const parseJson = (v: string): unknown => {
  try {
    return JSON.parse(v);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
};
