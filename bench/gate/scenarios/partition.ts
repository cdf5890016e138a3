export const partitionScenario = undefined as never;
