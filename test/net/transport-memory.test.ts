import { createMemoryNetwork } from "../../src/net/memory-transport.ts";
import { baseOptions, nodeIdFor, transportContract } from "./transport-contract.ts";

const network = createMemoryNetwork();
let counter = 0;

transportContract({
  name: "in-memory",
  async makeTransport(name, overrides) {
    counter++;
    return network.transport({ ...baseOptions(), ...overrides, nodeId: nodeIdFor(`${name}-${counter}`) });
  },
  listenAddress: () => `node-${++counter}`,
  deadAddress: async () => `nobody-${++counter}`,
});
