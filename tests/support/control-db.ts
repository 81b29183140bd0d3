// Control-plane databases of integration tests: `isolatedConfig` names one per test file (created by
// the first migration); this drops it afterwards unless KEEP_TEST_DATA=1.
import { dropControlDatabase, type ControlDbConfig } from '@confidant/shared';
import { isolatedConfig, testEnv } from './test-env.ts';

export const isolatedControlDb = (label: string): ControlDbConfig => isolatedConfig(label).controlPlane;

export async function dropTestControlDatabase(config: ControlDbConfig): Promise<void> {
  if (!testEnv.keepData) await dropControlDatabase(config);
}
