// Package graphtest is a fake Microsoft identity platform and Microsoft
// Graph v1.0 in one TLS httptest server, for tests and benchmarks of the
// Graph directory provider, in-process or through the carrierwatch command.
//
// It answers OIDC discovery and the client-credentials token endpoint
// (client secret or certificate assertion), users/delta with paging and
// delta tokens, the userRegistrationDetails report (or, for
// a tenant without Entra ID P1/P2, Graph's 403 refusal of it), each user's
// phoneMethods, emailMethods and authentication methods, and $batch, with
// Graph's JSON shapes and error bodies. Switches inject 500s,
// 401/403s, 429s with Retry-After, stale delta tokens, per-item statuses
// and Microsoft's documented throttling limits; counters record what the
// client asked. The tenant is Graph-shaped JSON: the fixture of LoadTenant
// or one a benchmark builds.
//
// It is plain net/http and encoding/json (it does not import the Graph SDK,
// so importing it is cheap). It is not Graph: it checks only what the
// provider relies on, verifies no signature, and serves loopback tests only.
package graphtest
