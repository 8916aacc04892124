package redisstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/statusbridge/statusbridge/internal/redistest"
	"github.com/statusbridge/statusbridge/store"
	"github.com/statusbridge/statusbridge/store/redisstore"
	"github.com/statusbridge/statusbridge/store/storetest"
)

var prefixes atomic.Int64

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Backend {
		s, err := redisstore.Open(t.Context(), srv.URL(),
			redisstore.WithPrefix(fmt.Sprintf("c%d", prefixes.Add(1))), redisstore.CallerClock(),
			redisstore.WithLimit(redisstore.LimiterConfig{Rate: storetest.LimitRate, Max: storetest.LimitMax, Period: storetest.LimitPeriod}),
		)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
