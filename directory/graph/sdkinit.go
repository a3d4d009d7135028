package graph

import core "github.com/microsoftgraph/msgraph-sdk-go-core"

// The SDK's error-mapping registry is a lazily created singleton whose
// first check is unlocked (msgraph-sdk-go-core error_mappings_registry.go):
// two $batch requests sent at once by the first sync race on creating it,
// which the race detector reports. Creating it here, before any request
// goroutine exists, leaves only reads.
func init() { core.GetErrorFactoryFromRegistry("") }
