package graph

import (
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/graphtest"
)

// The fake identity platform and Graph is internal/graphtest; the tenant is
// its fixture (graphtest.LoadTenant) or generated for benchmarks.

type fakeGraph = graphtest.Server

func newFakeGraph(tb testing.TB, tenant graphtest.Tenant) *fakeGraph {
	tb.Helper()
	return graphtest.New(tb, tenant)
}

func loadTenant(tb testing.TB) graphtest.Tenant {
	tb.Helper()
	return graphtest.LoadTenant(tb)
}

// fakeConfig returns a client config pointing at f.
func fakeConfig(f *fakeGraph) Config {
	return Config{
		TenantID:      graphtest.TenantID,
		ClientID:      graphtest.ClientID,
		ClientSecret:  f.Secret(),
		AuthorityHost: f.URL,
		GraphEndpoint: f.URL,
		HTTPClient:    f.Client(),
	}
}
