// Test guest for test/processes: a runaway that never returns and never calls the host.

let iterations: u64 = 0;

export function run(): void {
  while (true) {
    iterations++;
    if (iterations == 0) break;
  }
}
