import { describePeerDiscoveryContract } from "./peer-discovery.contract.ts";
import { createStaticDiscovery } from "./static-discovery.ts";

describePeerDiscoveryContract(
  "static",
  async (initial) => ({
    discovery: createStaticDiscovery(initial.map((candidate) => candidate.address)),
    cleanup: async () => {},
  }),
  { noticeMs: 0 },
);
