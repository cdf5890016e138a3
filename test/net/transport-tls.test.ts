import { createTlsTransport } from "../../src/net/tls-transport.ts";
import { deadLoopbackAddress } from "./helpers/dead-address.ts";
import { createTestCa, type TestCa } from "./helpers/test-pki.ts";
import { baseOptions, transportContract } from "./transport-contract.ts";

let ca: TestCa | undefined;

transportContract({
  name: "TLS 1.3 with mutual authentication",
  async makeTransport(name, overrides) {
    ca ??= await createTestCa();
    return createTlsTransport({ ...baseOptions(), ...overrides, tls: await ca.node(name) });
  },
  listenAddress: () => "127.0.0.1:0",
  deadAddress: deadLoopbackAddress,
});
