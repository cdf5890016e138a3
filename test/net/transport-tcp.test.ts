import { createTcpTransport } from "../../src/net/tcp-transport.ts";
import { deadLoopbackAddress } from "./helpers/dead-address.ts";
import { baseOptions, nodeIdFor, transportContract } from "./transport-contract.ts";

let counter = 0;

transportContract({
  name: "plain TCP (--tls-insecure)",
  async makeTransport(name, overrides) {
    counter++;
    return createTcpTransport({ ...baseOptions(), ...overrides, nodeId: nodeIdFor(`${name}-${counter}`) });
  },
  listenAddress: () => "127.0.0.1:0",
  deadAddress: deadLoopbackAddress,
});
