export const chaosScenario = undefined as never;
