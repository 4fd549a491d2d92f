/**
 * The secrets every test site uses, in a module that imports nothing: the runtime tests bundle
 * it into Bun, Deno and workerd apps, which cannot load test/helpers/sites.ts (node: modules).
 */
export const SHARED_SECRET = '5pNSSeLdb8LDZZXj2Wc2ZV6Vedy+aJpnCJqJEkP+9jwZRTlRv0fsYejF6nq7MsX6';
// Random: the fetch handler's session layer refuses a guessable secret, as the core does.
export const SESSION_SECRET = 'pNGG_Xk_n6MwgLSMd0NhknLTyB0Mb0QNnTzzuq650NggMPcb_HWgk83p';
