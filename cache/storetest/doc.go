// Package storetest is the conformance suite every cache.Store
// implementation runs, so that the filesystem store, the S3 store and
// plugin stores keep one contract:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) cache.Store { return newStore(t) })
//	}
package storetest
