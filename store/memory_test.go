package store_test

import (
	"testing"

	"duet/store"
	"duet/store/storetest"
)

func TestMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(_ *testing.T, l store.Limits) store.Store { return store.NewMemoryWithLimits(l) })
}

func TestMemoryQuestions(t *testing.T) {
	t.Parallel()
	storetest.RunQuestions(t, func(*testing.T) storetest.Backend { return store.NewMemory() })
	storetest.RunStarter(t, func(*testing.T) store.Store { return store.NewMemory() })
}

func TestMemoryAccounts(t *testing.T) {
	t.Parallel()
	storetest.RunAccounts(t, func(*testing.T) store.Accounts { return store.NewMemory() })
}

func TestMemoryInterviews(t *testing.T) {
	t.Parallel()
	storetest.RunInterviews(t, func(*testing.T) storetest.InterviewsBackend { return store.NewMemory() })
}
