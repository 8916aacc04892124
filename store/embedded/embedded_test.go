package embedded_test

import (
	"testing"

	"github.com/statusbridge/statusbridge/store"
	"github.com/statusbridge/statusbridge/store/embedded"
	"github.com/statusbridge/statusbridge/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Backend {
		s, err := embedded.Open(t.TempDir(), embedded.WithRate(storetest.LimitRate, storetest.LimitPeriod), embedded.WithRateMax(storetest.LimitMax))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
